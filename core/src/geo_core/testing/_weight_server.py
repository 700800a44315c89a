"""A local weight server for tests: fake Hugging Face file endpoints plus a plain URL host, with faults.

It listens on 127.0.0.1 (a free port) in a background thread and speaks what ``huggingface_hub``'s
``hf_hub_download`` needs (``HEAD``/``GET /<org>/<repo>/resolve/<revision>/<file>`` with ``X-Repo-Commit``,
``ETag``, ``Content-Length``, ``Range``; ``X-Error-Code`` on 401/403/404), so pointing ``HF_ENDPOINT`` at it
exercises the real client. Faults: an HTTP status, a dropped connection after N bytes, a delay, and gated
repositories that need a token.

Example:
    >>> from geo_core.testing import WeightServer
    >>> with WeightServer() as server:
    ...     url = server.add_file("models/w.pth", b"abc")
    ...     url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import hashlib
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["WeightServer", "Fault", "checkpoint_bytes"]

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


@dataclass
class Fault:
    """What to do to the next ``times`` requests of a path (``times=None``: every request)."""

    status: int | None = None
    drop_after: int | None = None
    delay: float = 0.0
    times: int | None = 1
    methods: tuple[str, ...] = ("GET", "HEAD")


@dataclass
class _Repo:
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # revision -> filename -> data
    token: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped connection stays simple

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        owner = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        owner.requests.append((self.command, path, {k.lower(): v for k, v in self.headers.items()}))
        fault = owner._take_fault(path, self.command)
        if fault and fault.delay:
            owner._stopped.wait(fault.delay)
        if fault and fault.status:
            return self._error(fault.status, "Injected")
        data = owner.files.get(path)  # plain files first: their paths may look like Hub paths
        if data is not None:
            return self._send(data, body, fault, {})
        match = _RESOLVE.match(path)
        if match:
            return self._serve_hf(match, body, fault)
        self._error(404, "NotFound")

    def _serve_hf(self, match: re.Match[str], body: bool, fault: Fault | None) -> None:
        owner = self.server.owner
        repo = owner.repos.get(match["repo"])
        if repo is None:
            return self._error(401, "RepoNotFound")
        rev = match["rev"]
        pinned = re.fullmatch(r"[0-9a-f]{40}", rev)  # a commit revision is its own commit hash
        commit = rev if pinned else hashlib.sha1(f"{match['repo']}@{rev}".encode()).hexdigest()
        if repo.token is not None:
            auth = self.headers.get("Authorization", "")
            if not auth:
                return self._error(401, "GatedRepo")
            if auth != f"Bearer {repo.token}":
                return self._error(403, "GatedRepo")
        files = repo.files.get(match["rev"])
        if files is None:
            return self._error(404, "RevisionNotFound")
        data = files.get(urllib.parse.unquote(match["file"]))
        if data is None:
            return self._error(404, "EntryNotFound", {"X-Repo-Commit": commit})
        etag = hashlib.sha256(data).hexdigest()
        self._send(data, body, fault, {"X-Repo-Commit": commit, "ETag": f'"{etag}"'})

    def _error(self, status: int, code: str, extra: dict[str, str] | None = None) -> None:
        page = f"<!DOCTYPE html><html><body>{status} {code}</body></html>".encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(page)

    def _send(self, data: bytes, body: bool, fault: Fault | None, headers: dict[str, str]) -> None:
        start = 0
        m = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
        if m and self.server.owner.ranges:
            start = int(m[1])
            if start >= len(data):
                return self._error(416, "RangeNotSatisfiable")
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not body:
            return
        chunk = data[start:]
        if fault and fault.drop_after is not None:
            chunk = chunk[: fault.drop_after]
        try:
            self.wfile.write(chunk)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: WeightServer


class WeightServer:
    """Serve weight files on ``http://127.0.0.1:<port>`` as a Hugging Face endpoint and a plain URL host.

    Use as a context manager. ``requests`` records ``(method, path, headers)`` of every request (header
    names lower-cased).
    ``env(tmp)`` gives the variables that point ``geo_core.weights`` (and ``huggingface_hub``) at it with
    caches under ``tmp``. ``ranges=False`` makes it ignore ``Range`` (a server that cannot resume).
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.repos: dict[str, _Repo] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.ranges = True
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> WeightServer:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (sleeping handlers wake up at once)."""
        self._stopped.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> WeightServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (also the value for ``HF_ENDPOINT``)."""
        assert self._httpd is not None, "start the server first (use it as a context manager)"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    hf_endpoint = url

    def env(self, tmp: str | Path) -> dict[str, str]:
        """Variables that send weight fetches here, with both caches under ``tmp``."""
        return {
            "HF_ENDPOINT": self.url,
            "HF_HUB_CACHE": str(Path(tmp) / "hf"),
            "GEO_WEIGHTS_DIR": str(Path(tmp) / "geo-weights"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "GEO_PROGRESS": "0",
        }

    def use(self, monkeypatch: Any, tmp: str | Path) -> None:
        """Apply :meth:`env` with pytest's ``monkeypatch``; clear offline switches and tokens."""
        for key, value in self.env(tmp).items():
            monkeypatch.setenv(key, value)
        for key in ("GEO_OFFLINE", "HF_HUB_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            monkeypatch.delenv(key, raising=False)

    # content ---------------------------------------------------------------------------------------------
    def add_file(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``/<path>`` on the plain host; return its URL."""
        key = "/" + path.lstrip("/")
        self.files[key] = data
        return self.url + key

    def add_hf_file(
        self, repo: str, filename: str, data: bytes, revision: str = "main", token: str | None = None
    ) -> str:
        """Serve ``data`` as ``filename`` of Hugging Face repo ``repo``; ``token`` makes the repo gated.

        Returns the resolve URL (useful with :meth:`fail`).
        """
        entry = self.repos.setdefault(repo, _Repo())
        if token is not None:
            entry.token = token
        entry.files.setdefault(revision, {})[filename] = data
        return f"{self.url}/{repo}/resolve/{revision}/{filename}"

    # faults ----------------------------------------------------------------------------------------------
    def fail(
        self,
        url: str,
        status: int | None = None,
        *,
        drop_after: int | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        methods: tuple[str, ...] = ("GET", "HEAD"),
    ) -> None:
        """Answer ``status``, drop the body after ``drop_after`` bytes or wait ``delay`` s, for ``times`` requests."""
        path = urllib.parse.urlsplit(url).path if "://" in url else "/" + url.lstrip("/")
        fault = Fault(status=status, drop_after=drop_after, delay=delay, times=times, methods=methods)
        with self._lock:
            self.faults.setdefault(path, []).append(fault)

    def _take_fault(self, path: str, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults.get(path, []):
                if method not in fault.methods or fault.times == 0:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def count(self, method: str, path_part: str) -> int:
        """How many ``method`` requests had ``path_part`` in their path."""
        return sum(1 for m, p, _ in self.requests if m == method and path_part in p)


def checkpoint_bytes(obj: Any) -> bytes:
    """``torch.save(obj)`` into bytes: a random-weight checkpoint to serve (torch loads only here)."""
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()
