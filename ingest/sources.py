"""Finding the files to ingest: walk folders, open .zip archives, pair files with sidecars.

Every file found becomes a `SourceFile` (read lazily); every file that cannot be taken
becomes a `Failure` with a reason, so one bad file never stops a batch.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pathspec

from ingest.parsers import SUPPORTED

SIDECAR_SUFFIX = ".meta.yaml"
IGNORE_FILE = ".kbignore"
_SKIP_DIRS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", "node_modules"}


@dataclass(frozen=True)
class Limits:
    """Bounds on what one ingest may read; each is configurable (CLI flags, API settings)."""

    max_file_bytes: int = 25 * 1024 * 1024
    max_zip_entries: int = 10_000
    max_zip_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    origin: str  # identity across runs: absolute path, or "<absolute zip>!/<entry>"
    source: str  # shown to users: relative to the folder given
    root: str  # the folder or archive given on the command line (for --prune)
    suffix: str
    size: int
    read: Callable[[], bytes]
    read_sidecar: Callable[[], bytes | None]


@dataclass(frozen=True)
class Failure:
    path: str
    error: str


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in _SKIP_DIRS


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _read_file(path: Path) -> Callable[[], bytes]:
    return path.read_bytes


def _read_sidecar(path: Path) -> Callable[[], bytes | None]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    return lambda: sidecar.read_bytes() if sidecar.is_file() else None


def _too_big(size: int, limits: Limits) -> str | None:
    if size > limits.max_file_bytes:
        return (
            f"the file is {size:,} bytes, over the limit of {limits.max_file_bytes:,} "
            "(raise it with --max-file-mb)"
        )
    return None


def _from_file(
    path: Path, source: str, root: str, limits: Limits, origin: str | None = None
) -> SourceFile | Failure:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Failure(source, f"cannot read the file: {exc.strerror or exc}")
    reason = _too_big(size, limits)
    if reason:
        return Failure(source, reason)
    return SourceFile(
        origin=origin or str(path.resolve()),
        source=source,
        root=root,
        suffix=_suffix(source),
        size=size,
        read=_read_file(path),
        read_sidecar=_read_sidecar(path),
    )


def _zip_reader(archive: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive) as zf:
            return zf.read(name)

    return read


def _zip_sidecar(archive: Path, name: str, names: set[str]) -> Callable[[], bytes | None]:
    sidecar = name + SIDECAR_SUFFIX
    if sidecar not in names:
        return lambda: None
    return _zip_reader(archive, sidecar)


def _from_zip(
    archive: Path, prefix: str, root: str, limits: Limits, origin: str | None = None
) -> Iterator[SourceFile | Failure]:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        yield Failure(prefix, f"not a readable .zip archive: {exc}")
        return
    if len(infos) > limits.max_zip_entries:
        yield Failure(
            prefix,
            f"the archive has {len(infos)} entries, over the limit of {limits.max_zip_entries}",
        )
        return
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_bytes:
        yield Failure(
            prefix,
            f"the archive unpacks to {total:,} bytes, over the limit of {limits.max_zip_bytes:,}",
        )
        return
    names = {info.filename for info in infos}
    base = origin or str(archive.resolve())
    for info in infos:
        entry = PurePosixPath(info.filename.replace("\\", "/"))
        shown = f"{prefix}/{entry}"
        if entry.is_absolute() or ".." in entry.parts or (entry.parts and ":" in entry.parts[0]):
            yield Failure(shown, "unsafe path inside the archive (absolute or with '..'); refused")
            continue
        if any(_hidden(part) for part in entry.parts) or info.filename.endswith(SIDECAR_SUFFIX):
            continue
        suffix = _suffix(entry.name)
        if suffix not in SUPPORTED:
            continue
        reason = _too_big(info.file_size, limits)
        if reason:
            yield Failure(shown, reason)
            continue
        yield SourceFile(
            origin=f"{base}!/{entry}",
            source=shown,
            root=root,
            suffix=suffix,
            size=info.file_size,
            read=_zip_reader(archive, info.filename),
            read_sidecar=_zip_sidecar(archive, info.filename, names),
        )


def _ignore_spec(folder: Path) -> pathspec.PathSpec:
    """Patterns in `<folder>/.kbignore`, gitignore syntax: what a folder's owner keeps out."""
    ignore_file = folder / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def discover(
    paths: list[Path], limits: Limits, names: Mapping[Path, str] | None = None
) -> Iterator[SourceFile | Failure]:
    """Everything under the given files, folders and archives, in a stable order.

    `names` gives uploaded files their own name (the spool path means nothing to users):
    such a file is shown under that name and identified as "upload:<name>", so uploading
    a new version of a write-up replaces the old one.
    """
    for given in paths:
        if not given.exists():
            yield Failure(str(given), "no such file or folder")
            continue
        name = (names or {}).get(given)
        shown = name or given.name
        origin = f"upload:{name}" if name else None
        root = origin or str(given.resolve())
        if given.is_file():
            if _suffix(shown) == ".zip":
                yield from _from_zip(given, shown, root, limits, origin)
            elif _suffix(shown) not in SUPPORTED:
                yield Failure(
                    shown,
                    f"unsupported file type {_suffix(shown) or '(none)'}; "
                    f"supported: {', '.join(SUPPORTED)} and .zip",
                )
            else:
                yield _from_file(given, shown, root, limits, origin)
            continue
        ignored = _ignore_spec(given)
        for folder, dirs, files in os.walk(given):
            here = Path(folder).relative_to(given)
            dirs[:] = sorted(
                d
                for d in dirs
                if not _hidden(d) and not ignored.match_file((here / d).as_posix() + "/")
            )
            for name in sorted(files):
                if _hidden(name) or name.endswith(SIDECAR_SUFFIX):
                    continue
                path = Path(folder) / name
                source = path.relative_to(given).as_posix()
                if ignored.match_file(source):
                    continue
                suffix = _suffix(name)
                if suffix == ".zip":
                    yield from _from_zip(path, source, root, limits)
                elif suffix in SUPPORTED:
                    yield _from_file(path, source, root, limits)
