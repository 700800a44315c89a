"""``WeightRef``: where a component's released weights live (Hugging Face, a URL or a local path)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from geo_core._errors import ConfigError

__all__ = ["WeightRef"]

_HEX = re.compile(r"^[0-9a-fA-F]{8,64}$")
_KEYS = ("hf_repo", "filename", "revision", "url", "sha256", "path", "repo_type")


@dataclass(frozen=True)
class WeightRef:
    """A reference to one weight file: exactly one of ``hf_repo`` (+ ``filename``), ``url`` or ``path``.

    Attributes:
        hf_repo: Hugging Face repository id (``org/name``); needs ``filename``.
        filename: File inside the repository.
        revision: Branch, tag or commit of the repository (``None``: the default branch).
        url: A plain ``http(s)://`` URL, cached under ``$GEO_WEIGHTS_DIR``.
        sha256: Expected SHA-256 of the file, in hex. A prefix of at least 8 characters is
            accepted (torchvision's convention puts one in the file name). Checked when given.
        path: A local file, used as it is.
        repo_type: Hugging Face repository type (``model`` by default).

    Example:
        >>> WeightRef(hf_repo="org/repo", filename="model.pt").source
        'org/repo/model.pt'
        >>> WeightRef.from_mapping({"url": "https://host/x-0123abcd.pth", "sha256": "0123abcd"}).kind
        'url'
    """

    hf_repo: str | None = None
    filename: str | None = None
    revision: str | None = None
    url: str | None = None
    sha256: str | None = None
    path: str | None = None
    repo_type: str = "model"

    def __post_init__(self) -> None:
        given = [k for k in ("hf_repo", "url", "path") if getattr(self, k)]
        if len(given) != 1:
            raise ConfigError(
                "a weight reference needs exactly one of hf_repo (with filename), url or path; "
                f"got {', '.join(given) or 'none'}",
                key="weights",
            )
        if self.hf_repo and not self.filename:
            raise ConfigError(
                f"weights hf_repo={self.hf_repo!r} needs filename= (the file inside the repository)",
                key="weights.filename",
            )
        if self.hf_repo and self.hf_repo.count("/") != 1:
            raise ConfigError(f"weights hf_repo={self.hf_repo!r} is not of the form 'org/name'", key="weights.hf_repo")
        if self.url and not self.url.startswith(("http://", "https://", "file://")):
            raise ConfigError(
                f"weights url={self.url!r} must start with http://, https:// or file://", key="weights.url"
            )
        if self.sha256 is not None and not _HEX.match(self.sha256):
            raise ConfigError(
                f"weights sha256={self.sha256!r} is not a hex digest (8 to 64 hex characters)", key="weights.sha256"
            )
        if self.sha256 is not None:
            object.__setattr__(self, "sha256", self.sha256.lower())

    @property
    def kind(self) -> Literal["hf", "url", "path"]:
        """Which of the three sources this reference uses."""
        return "hf" if self.hf_repo else "url" if self.url else "path"

    @property
    def source(self) -> str:
        """A short human-readable location (``org/repo/file@rev``, the URL or the path)."""
        if self.hf_repo:
            rev = f"@{self.revision}" if self.revision else ""
            return f"{self.hf_repo}/{self.filename}{rev}"
        return str(self.url or self.path)

    @property
    def page(self) -> str:
        """Where a person can look at the weights (the model card for Hugging Face)."""
        if self.hf_repo:
            return f"https://huggingface.co/{self.hf_repo}"
        return self.source

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | WeightRef) -> WeightRef:
        """Build a reference from a manifest ``[<kind>.<name>.weights]`` table (or return a ``WeightRef`` as is).

        Unknown keys are refused with the list of valid ones.
        """
        if isinstance(data, WeightRef):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"weights must be a table with hf_repo/filename, url or path; got {data!r}", key="weights"
            )
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(
                f"unknown weights key(s) {', '.join(unknown)}; valid keys: {', '.join(_KEYS)}", key="weights"
            )
        values = {k: str(v) for k, v in data.items() if v not in ("", None)}
        return cls(**values)

    def to_mapping(self) -> dict[str, str]:
        """The manifest form: only the keys that are set."""
        out = {k: getattr(self, k) for k in _KEYS if getattr(self, k)}
        if out.get("repo_type") == "model":
            del out["repo_type"]
        return out
