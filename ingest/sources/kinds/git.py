"""The `git` kind: any URL or path `git` can fetch, one branch, optional sub-paths and ignore
patterns, kept in step by diffs between commits.

It runs the `git` command (2.x) through subprocess rather than a library: git itself knows
every transport, credential helper and SSH setting the machine has, and its diff (rename
detection included) is the reference. Each source keeps a bare repository in its own folder
(`<home>/sources/<name>/repo.git`): a sync is one `git fetch` of the branch into `refs/kb/head`
and then

- the same commit as last time: nothing else (an unchanged repository costs one fetch);
- the last synced commit an ancestor of the new one: `git diff --name-status -M` between
  them gives the files added, modified, renamed (old path removed, new one read) and deleted;
  only those are read, from the object store (`git cat-file --batch`, no work tree);
- otherwise (a force-push rewrote history, or this machine has no clone yet): every file of
  the new commit, compared by content hash (`complete`), so nothing is lost or duplicated,
  and files whose recorded commit left the history are read again for a link that holds.

The state it remembers is {"commit": ...}, written by the sync once every file is stored.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ingest.errors import UnreadableFile
from ingest.formats.registry import SUPPORTED
from ingest.sources.files import SIDECAR_SUFFIX, SourceFile
from ingest.sources.kinds.base import Changes, PathFilter, SyncContext
from kb.sources import SourceError, SourceSpec

HEAD_REF = "refs/kb/head"
FETCH_TIMEOUT = 600.0  # seconds


class GitError(SourceError):
    """A git command failed; the message says which and what git said."""


def _git(repo: Path, *args: str, timeout: float = 120.0) -> bytes:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "--git-dir", str(repo), *args],
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("The git kind needs the git command: install git (2.x).") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took over {timeout:.0f} s: try again later.") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        fatal = [line for line in said if line.startswith(("fatal:", "error:"))]
        reason = (fatal or said or [f"exit status {done.returncode}"])[0]
        raise GitError(f"git {args[0]} failed: {reason}")
    return done.stdout


def _succeeds(repo: Path, *args: str) -> bool:
    try:
        _git(repo, *args)
    except GitError:
        return False
    return True


@dataclass(frozen=True)
class Entry:
    """One change between two commits, as `git diff --name-status -M -z` gives it."""

    status: str  # A, M, D, T, R (renamed: `old` is the path it had), C (copied)
    path: str
    old: str | None = None


def parse_name_status(raw: bytes) -> list[Entry]:
    """The entries of `git diff --name-status -z` output (NUL-separated; renames and copies
    carry their old and new paths)."""
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    entries: list[Entry] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i][0]
        if status in "RC":
            entries.append(Entry(status, fields[i + 2], fields[i + 1]))
            i += 3
        else:
            entries.append(Entry(status, fields[i + 1]))
            i += 2
    return entries


class BlobReader:
    """Files of one commit read through one `git cat-file --batch` process."""

    def __init__(self, repo: Path, commit: str, max_bytes: int) -> None:
        self.repo, self.commit, self.max_bytes = repo, commit, max_bytes
        self._process: subprocess.Popen[bytes] | None = None

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._process is None:
            self._process = subprocess.Popen(
                ["git", "--git-dir", str(self.repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def read(self, path: str) -> bytes | None:
        """The file's bytes at the commit; None when it is not there (or not a file)."""
        stdin, stdout = self._pipes()
        stdin.write(f"{self.commit}:{path}\n".encode("utf-8", "surrogateescape"))
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:  # "<spec> missing" / "ambiguous"
            return None
        size = int(header[2])
        data = stdout.read(size)
        stdout.read(1)  # the newline after each object
        if header[1] != b"blob":
            return None
        return data

    def reader(self, path: str) -> Callable[[], bytes]:
        def read() -> bytes:
            data = self.read(path)
            if data is None:
                raise UnreadableFile(f"{path} is not a file at {self.commit[:12]}")
            if len(data) > self.max_bytes:
                raise UnreadableFile(
                    f"the file is {len(data):,} bytes, over the limit of {self.max_bytes:,}"
                )
            return data

        return read

    def sidecar(self, path: str) -> Callable[[], bytes | None]:
        return lambda: self.read(path + SIDECAR_SUFFIX)

    def close(self) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


class GitKind:
    """See the module's docstring; options: branch (default: the remote's HEAD), paths (sub-
    paths to read, default all), ignore (gitignore patterns)."""

    name = "git"

    def check(self, spec: SourceSpec) -> SourceSpec:
        location = spec.location
        local = Path(location).expanduser()
        if "://" not in location and ":" not in location.split("/")[0] and local.exists():
            location = str(local.resolve())  # a path: the same from any working directory
        options = dict(spec.options)
        for key in ("paths", "ignore"):
            value = options.get(key) or []
            options[key] = [value] if isinstance(value, str) else list(value)
        return replace(spec, location=location, options=options)

    def sync(
        self, spec: SourceSpec, last_state: Mapping[str, Any], context: SyncContext
    ) -> Changes:
        repo = context.workdir / "repo.git"
        if not (repo / "HEAD").exists():
            repo.mkdir(parents=True, exist_ok=True)
            _git(repo, "init", "--bare", "--quiet")
        branch = spec.options.get("branch")
        ref = f"refs/heads/{branch}" if branch else "HEAD"
        _git(
            repo,
            "fetch",
            "--quiet",
            "--force",
            "--no-tags",
            "--no-write-fetch-head",
            spec.location,
            f"+{ref}:{HEAD_REF}",
            timeout=FETCH_TIMEOUT,
        )
        new = _git(repo, "rev-parse", f"{HEAD_REF}^{{commit}}").decode().strip()
        old = last_state.get("commit")
        state = {"commit": new}
        notes: dict[str, Any] = {"fetches": 1, "commit": new, "previous": old}
        if old == new:
            notes["mode"] = "unchanged"
            return Changes(state=state, revision=new, notes=notes)
        selected = PathFilter(spec.options)
        reader = BlobReader(repo, new, context.limits.max_file_bytes)
        day = _git(repo, "show", "-s", "--format=%cs", new).decode().strip() or None

        def file(path: str) -> SourceFile:
            return SourceFile(
                origin=spec.origin_of(path),
                source=path,
                root=spec.root,
                suffix=_suffix(path),
                size=0,
                read=reader.reader(path),
                read_sidecar=reader.sidecar(path),
                modified=day,
            )

        def wanted(path: str) -> bool:
            return _suffix(path) in SUPPORTED and selected(path)

        if (
            isinstance(old, str)
            and _succeeds(repo, "cat-file", "-e", f"{old}^{{commit}}")
            and _succeeds(repo, "merge-base", "--is-ancestor", old, new)
        ):
            notes["mode"] = "diff"
            raw = _git(repo, "diff", "--name-status", "-M", "-z", old, new)
            read: dict[str, None] = {}
            by_sidecar: set[str] = set()  # may have no file of their own
            removed: list[str] = []
            for entry in _entries(raw):
                if entry.path.endswith(SIDECAR_SUFFIX):  # its file is read again
                    read[entry.path[: -len(SIDECAR_SUFFIX)]] = None
                    by_sidecar.add(entry.path[: -len(SIDECAR_SUFFIX)])
                elif entry.status == "D":
                    removed.append(entry.path)
                else:
                    if entry.status == "R" and entry.old is not None:
                        removed.append(entry.old)
                    read[entry.path] = None
            files = [
                file(p)
                for p in read
                if wanted(p) and (p not in by_sidecar or reader.read(p) is not None)
            ]
            gone = [p for p in removed if p not in read and wanted(p)]
            return Changes(
                state=state,
                files=files,
                removed=gone,
                revision=new,
                close=reader.close,
                notes=notes,
            )
        notes["mode"] = "full"
        listing = _git(repo, "ls-tree", "-r", "-z", "--name-only", new)
        paths = [p for p in listing.decode("utf-8", "surrogateescape").split("\0") if p]
        ancestors: dict[str, bool] = {}

        def stale(revision: str) -> bool:
            if revision not in ancestors:
                ancestors[revision] = not _succeeds(
                    repo, "merge-base", "--is-ancestor", revision, new
                )
            return ancestors[revision]

        return Changes(
            state=state,
            files=[file(p) for p in paths if wanted(p)],
            complete=True,
            revision=new,
            stale_revision=stale,
            close=reader.close,
            notes=notes,
        )


_entries = parse_name_status
