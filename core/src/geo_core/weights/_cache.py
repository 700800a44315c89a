"""What is in the two weight caches (``$GEO_WEIGHTS_DIR`` and the Hugging Face cache), with verification status."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from geo_core.weights import _env
from geo_core.weights._verify import read_record, sha256_of

__all__ = ["CachedWeights", "list_cached"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class CachedWeights:
    """One cached weight file.

    Attributes:
        source: Where it came from (URL, or ``org/repo/file@commit``).
        path: The local file.
        size: Bytes on disk.
        status: ``verified`` (hash checked), ``recorded`` (hash recorded, none declared), ``partial``,
            ``unrecorded`` (put there by hand), ``mismatch`` (size or hash differs: delete and fetch again).
        detail: One line explaining the status.
    """

    source: str
    path: Path
    size: int
    status: str
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "source": self.source,
            "path": str(self.path),
            "size": self.size,
            "status": self.status,
            "detail": self.detail,
        }


def _url_entry(path: Path, base: Path, verify: bool) -> CachedWeights:
    size = path.stat().st_size
    record = read_record(path)
    if record is None:
        return CachedWeights(str(path.relative_to(base)), path, size, "unrecorded", "no download record")
    source = str(record.get("source", path.name))
    if record.get("size") != size:
        return CachedWeights(source, path, size, "mismatch", f"size differs from the {record.get('size')} recorded")
    if verify:
        if sha256_of(path) != record.get("sha256"):
            return CachedWeights(source, path, size, "mismatch", "sha256 differs from the recorded one")
        return CachedWeights(source, path, size, "verified", "sha256 re-checked now")
    if record.get("declared_sha256"):
        return CachedWeights(source, path, size, "verified", "declared sha256 checked at download")
    return CachedWeights(source, path, size, "recorded", "no sha256 declared; recorded at download")


def _url_cache(verify: bool) -> list[CachedWeights]:
    base = _env.weights_dir()
    out: list[CachedWeights] = []
    if not base.is_dir():
        return out
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.name.endswith(".geo.json") or path.name.endswith(".lock"):
            continue
        if path.name.startswith("."):
            if path.name.endswith(".part"):
                out.append(
                    CachedWeights(
                        str(path.relative_to(base)),
                        path,
                        path.stat().st_size,
                        "partial",
                        "interrupted download; fetching again resumes it",
                    )
                )
            continue
        out.append(_url_entry(path, base, verify))
    return out


def _hf_cache(verify: bool) -> list[CachedWeights]:
    base = _env.hf_cache_dir()
    out: list[CachedWeights] = []
    for repo_dir in sorted(base.glob("models--*")) if base.is_dir() else []:
        repo = repo_dir.name[len("models--") :].replace("--", "/")
        for path in sorted((repo_dir / "snapshots").glob("*/**/*")):
            if not path.is_file():
                continue
            commit, rel = path.relative_to(repo_dir / "snapshots").parts[0], path.relative_to(repo_dir / "snapshots")
            source = f"{repo}/{'/'.join(rel.parts[1:])}@{commit[:8]}"
            blob = path.resolve()
            size = blob.stat().st_size
            if not _SHA256.match(blob.name):
                out.append(CachedWeights(source, path, size, "recorded", "small file (git blob id, no sha256)"))
            elif verify:
                ok = sha256_of(blob) == blob.name
                out.append(
                    CachedWeights(
                        source,
                        path,
                        size,
                        "verified" if ok else "mismatch",
                        "sha256 re-checked now" if ok else "sha256 differs from the blob name",
                    )
                )
            else:
                out.append(CachedWeights(source, path, size, "verified", "sha256 is the blob name (LFS)"))
        for part in sorted((repo_dir / "blobs").glob("*.incomplete")):
            out.append(
                CachedWeights(
                    f"{repo}/(incomplete)",
                    part,
                    part.stat().st_size,
                    "partial",
                    "interrupted download; fetching again resumes it",
                )
            )
    return out


def list_cached(verify: bool = False) -> list[CachedWeights]:
    """Every cached weight file: the URL cache first, then the Hugging Face cache.

    Args:
        verify: Re-hash every file (slow for big files) instead of trusting the download record.
    """
    return _url_cache(verify) + _hf_cache(verify)
