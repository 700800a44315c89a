"""Finding files and pairing images with labels by file stem (never by sorted index).

A grep pattern such as ``*_img.tif`` both selects files and defines their *key*:
the text matched by the wildcards (``tile007`` for ``tile007_img.tif``). Images
and labels are paired by equal keys; a key present on one side only is an error
that lists the unpaired files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from geo_core import InputDataError

__all__ = ["find_files", "pair_by_key", "apply_split", "grep_key"]

_MAX_LISTED = 20


def _pattern_regex(grep: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(grep):
        if grep.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif grep[i] == "*":
            out.append("([^/]*)")
            i += 1
        elif grep[i] == "?":
            out.append("([^/])")
            i += 1
        else:
            out.append(re.escape(grep[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def grep_key(grep: str, relative_path: str) -> str | None:
    """Return the key of ``relative_path`` under ``grep`` (the wildcard text), or None.

    Example:
        >>> grep_key("*_img.tif", "tile007_img.tif")
        'tile007'
        >>> grep_key("*", "scene.tif")
        'scene'
    """
    m = _pattern_regex(grep).match(relative_path)
    if m is None:
        return None
    key = "".join(g for g in m.groups() if g is not None)
    if grep.endswith("*"):  # a bare '*' captured the extension too
        key = key.rsplit(".", 1)[0] if "." in key else key
    return key


def find_files(root: str | Path, grep: str, what: str = "image") -> dict[str, Path]:
    """Return ``{key: path}`` of the files under ``root`` matching ``grep``.

    Raises:
        InputDataError: When ``root`` is missing, nothing matches, or two files share a key.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputDataError(f"{what} folder does not exist", root)
    found: dict[str, Path] = {}
    for path in sorted(root.glob(grep)):
        if not path.is_file():
            continue
        key = grep_key(grep, path.relative_to(root).as_posix())
        if key is None:
            continue
        if key in found:
            raise InputDataError(
                f"two {what} files share the key {key!r}: {found[key].name} and {path.name}; "
                f"make the grep pattern {grep!r} more specific",
                root,
            )
        found[key] = path
    if not found:
        raise InputDataError(f"no {what} file matches {grep!r}; check the folder and the grep pattern", root)
    return found


def _listing(paths: Iterable[Path]) -> str:
    paths = list(paths)
    shown = ", ".join(p.name for p in paths[:_MAX_LISTED])
    more = f" (and {len(paths) - _MAX_LISTED} more)" if len(paths) > _MAX_LISTED else ""
    return shown + more


def pair_by_key(
    images: dict[str, Path], labels: dict[str, Path], img_grep: str = "*", label_grep: str = "*"
) -> list[tuple[str, Path, Path]]:
    """Pair images with labels by key; unpaired files on either side are an error listing them."""
    only_img = sorted(set(images) - set(labels))
    only_lbl = sorted(set(labels) - set(images))
    if only_img or only_lbl:
        parts = []
        if only_img:
            parts.append(f"{len(only_img)} image(s) without a label: {_listing(images[k] for k in only_img)}")
        if only_lbl:
            parts.append(f"{len(only_lbl)} label(s) without an image: {_listing(labels[k] for k in only_lbl)}")
        raise InputDataError(
            "; ".join(parts) + f". Images and labels are paired by the part of the name matched by the wildcards of "
            f"img_grep={img_grep!r} and label_grep={label_grep!r}; remove the strays or fix the patterns",
            next(iter(images.values())).parent,
        )
    return [(k, images[k], labels[k]) for k in sorted(images)]


def apply_split(
    keys: Sequence[str],
    split_file: str | Path | None,
    *,
    allow_substring: bool = True,
) -> list[str]:
    """Keep the keys listed in ``split_file`` (one name per line; extensions are ignored).

    A listed name that matches no file is an error: a split silently shrinking is
    a bug waiting to happen.
    """
    if split_file is None:
        return list(keys)
    path = Path(split_file)
    try:
        lines = [ln.strip() for ln in path.read_text().splitlines()]
    except OSError as exc:
        raise InputDataError(f"cannot read split file: {exc}", path) from exc
    wanted = [ln for ln in lines if ln and not ln.startswith("#")]
    keyset = set(keys)
    chosen: dict[str, None] = {}
    missing = []
    for name in wanted:
        stem = name.rsplit("/", 1)[-1]
        candidates = [stem, stem.rsplit(".", 1)[0]] if "." in stem else [stem]
        hit = next((c for c in candidates if c in keyset), None)
        if hit is not None:
            chosen[hit] = None
            continue
        if allow_substring:
            subs = [k for k in keys if any(c in k for c in candidates)]
            if subs:
                chosen.update(dict.fromkeys(subs))
                continue
        missing.append(name)
    if missing:
        shown = ", ".join(missing[:_MAX_LISTED]) + (" ..." if len(missing) > _MAX_LISTED else "")
        raise InputDataError(f"{len(missing)} name(s) in the split file match no file: {shown}", path)
    return [k for k in keys if k in chosen]
