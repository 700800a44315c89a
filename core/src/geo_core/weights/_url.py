"""Plain-URL weights: a cache under ``$GEO_WEIGHTS_DIR`` with resume, verification and atomic placement.

Layout: ``<weights dir>/<host>/<url path>``, a ``<file>.geo.json`` record beside each verified file, and
while downloading a ``.<file>.part`` (kept after an interruption, so the next try resumes with HTTP Range).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from geo_core._atomic import atomic_path
from geo_core._errors import WeightsError, WeightsOfflineError
from geo_core._version import __version__
from geo_core.weights import _env
from geo_core.weights._progress import Progress
from geo_core.weights._ref import WeightRef
from geo_core.weights._verify import check_content, check_sha256, read_record, sha256_of, write_record

__all__ = ["url_cache_path", "cached_url", "fetch_url"]

_CHUNK = 1 << 20
_ATTEMPTS = 3


class _Interrupted(Exception):
    """The body stopped early (dropped connection, read timeout); the part file keeps what arrived."""


def url_cache_path(url: str) -> Path:
    """Where ``url`` is cached: ``<weights dir>/<host>/<path>`` (a query string adds a short hash)."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s not in ("", ".", "..")] or ["index"]
    if parts.query:
        stem = hashlib.sha256(parts.query.encode()).hexdigest()[:8]
        segments[-1] = f"{stem}-{segments[-1]}"
    host = (parts.hostname or "local") + (f"_{parts.port}" if parts.port else "")
    return _env.weights_dir().joinpath(host, *segments)


def _local(url: str) -> Path | None:
    if url.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    return None


def cached_url(ref: WeightRef) -> Path | None:
    """The cached file for ``ref`` when present and consistent with its record and declared hash, else ``None``."""
    assert ref.url is not None
    local = _local(ref.url)
    if local is not None:
        return local if local.is_file() else None
    final = url_cache_path(ref.url)
    if not final.is_file():
        return None
    record = read_record(final)
    if record is None or record.get("size") != final.stat().st_size:
        return None
    if ref.sha256 and not str(record.get("sha256", "")).startswith(ref.sha256):
        return None
    return final


def _adopt(final: Path, ref: WeightRef, name: str) -> Path | None:
    """Accept a file put in the cache by hand (no record) when its hash matches the declared one."""
    if not final.is_file() or read_record(final) is not None or not ref.sha256:
        return None
    digest = sha256_of(final)
    if not digest.startswith(ref.sha256):
        return None
    write_record(final, source=str(ref.url), sha256=digest, declared=ref.sha256)
    return final


@contextlib.contextmanager
def _lock(final: Path) -> Iterator[None]:
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.with_name(f".{final.name}.lock"), "a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process lock
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _total(resp: http.client.HTTPResponse, resume: int) -> int | None:
    rng = resp.headers.get("Content-Range", "")
    if "/" in rng and rng.rsplit("/", 1)[1].strip().isdigit():
        return int(rng.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return resume + int(length) if length and length.isdigit() else None


def _close_half_read(exc: BaseException) -> None:
    """Close a response that ``http.client`` left open when its status line timed out.

    CPython's ``HTTPConnection.getresponse`` closes the half-built response only on ``ConnectionError``; on a
    timeout its socket would be garbage-collected later with a ``ResourceWarning``.
    """
    tb = exc.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, http.client.HTTPResponse):
                value.close()
        tb = tb.tb_next


def _transfer(url: str, part: Path, *, name: str, label: str) -> int | None:
    """Fetch the rest of ``url`` (or its ``$GEO_WEIGHTS_MIRROR``) into ``part``; return the announced total size."""
    url = _env.mirrored(url)
    resume = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": f"geo/{__version__}", "Accept-Encoding": "identity"}
    if resume:
        headers["Range"] = f"bytes={resume}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_env.timeout())
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the error page's open response
        if exc.code == 416 and resume:  # the part is complete or longer than the file: start over
            part.unlink()
            return _transfer(url, part, name=name, label=label)
        hint = (
            "the file is not there: check the address"
            if exc.code in (404, 410)
            else "access refused: the file may need a token or a licence acceptance"
            if exc.code in (401, 403)
            else "the server failed; run the command again later"
        )
        raise WeightsError(
            f"{url} answered HTTP {exc.code} {exc.reason}: {hint}", name=name, source=url, status=exc.code
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        _close_half_read(exc)
        reason = getattr(exc, "reason", exc)
        what = "timed out" if isinstance(reason, TimeoutError) else f"failed ({reason})"
        raise WeightsError(
            f"connecting to {url} {what}; check the network (GEO_WEIGHTS_TIMEOUT="
            f"{_env.timeout():g}s) or pre-fetch with `geo weights download`",
            name=name,
            source=url,
        ) from exc
    with resp:
        if resume and resp.status == 200:  # the server ignored Range: start from zero
            resume = 0
        total = _total(resp, resume)
        progress = Progress(label, total, resume)
        ok = False
        try:
            with open(part, "ab" if resume else "wb") as fh:
                while True:
                    try:
                        block = resp.read(_CHUNK)
                    except TimeoutError as exc:
                        raise _Interrupted(f"no data for {_env.timeout():g} s") from exc
                    except (http.client.IncompleteRead, ConnectionError, OSError) as exc:
                        raise _Interrupted(f"connection dropped ({type(exc).__name__})") from exc
                    if not block:
                        break
                    fh.write(block)
                    progress.update(len(block))
            ok = True
        finally:
            progress.close(ok)
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Interrupted(f"connection closed after {size} of {total} bytes")
    if total is not None and size > total:
        part.unlink()
        raise WeightsError(
            f"{url} sent {size} bytes, more than the {total} announced; removed, run again", name=name, source=url
        )
    return total


def _download(ref: WeightRef, final: Path, name: str) -> None:
    url = str(ref.url)
    part = final.with_name(f".{final.name}.part")
    last: _Interrupted | None = None
    for _ in range(_ATTEMPTS):
        before = part.stat().st_size if part.exists() else 0
        try:
            _transfer(url, part, name=name, label=final.name)
        except _Interrupted as exc:
            last = exc
            now = part.stat().st_size if part.exists() else 0
            if now <= before:  # no progress in this attempt: retrying would only repeat it
                break
            continue
        last = None
        break
    if last is not None:
        have = part.stat().st_size if part.exists() else 0
        raise WeightsError(
            f"download of {url} was interrupted: {last}; {have} bytes kept in {part}, run the command again to resume",
            name=name,
            source=url,
        ) from last
    try:
        check_content(part, name=name, source=url)
        digest = check_sha256(part, ref.sha256, name=name, source=url) if ref.sha256 else sha256_of(part)
    except WeightsError:
        part.unlink(missing_ok=True)
        raise
    with atomic_path(final) as tmp:
        os.replace(part, tmp)
    write_record(final, source=url, sha256=digest, declared=ref.sha256)


def fetch_url(ref: WeightRef, name: str = "") -> Path:
    """Return the cached, verified file of a URL reference, downloading it first when needed."""
    assert ref.url is not None
    local = _local(ref.url)
    if local is not None:
        if not local.is_file():
            raise WeightsError(f"no file at {local}", name=name, source=ref.url)
        if ref.sha256:
            check_sha256(local, ref.sha256, name=name, source=ref.url)
        return local
    hit = cached_url(ref)
    if hit is not None:
        return hit
    final = url_cache_path(ref.url)
    var = _env.offline_variable()
    if var is not None:
        adopted = _adopt(final, ref, name)
        if adopted is not None:
            return adopted
        raise WeightsOfflineError(
            f"weights not cached and {var}=1: fetch {ref.url} into {final} (on a connected machine: "
            f"`geo weights download {name or ref.url}`, then copy {_env.weights_dir()} here)",
            name=name,
            source=ref.url,
        )
    with _lock(final):
        hit = cached_url(ref) or _adopt(final, ref, name)  # another process may have finished meanwhile
        if hit is not None:
            return hit
        _download(ref, final, name)
    return final
