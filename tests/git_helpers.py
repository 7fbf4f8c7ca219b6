"""A real Git repository for the source tests: a bare "remote" that a working clone pushes to,
as a team's repository on a server would be, synced by kb through a path URL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


class Repo:
    """`remote` (bare, what kb fetches) and `work` (where the test writes and commits)."""

    def __init__(self, folder: Path) -> None:
        self.remote = folder / "remote.git"
        self.work = folder / "work"
        self.remote.mkdir(parents=True)
        git(self.remote, "init", "--bare", "--quiet", "--initial-branch=main")
        self.work.mkdir()
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "remote", "add", "origin", str(self.remote))

    @property
    def url(self) -> str:
        return str(self.remote)

    def write(self, files: dict[str, str | None]) -> None:
        """Write (text) or delete (None) files in the working clone."""
        for path, text in files.items():
            target = self.work / path
            if text is None:
                git(self.work, "rm", "--quiet", path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            git(self.work, "add", path)

    def rename(self, old: str, new: str) -> None:
        (self.work / new).parent.mkdir(parents=True, exist_ok=True)
        git(self.work, "mv", old, new)

    def commit(self, message: str, *, push: bool = True, force: bool = False) -> str:
        git(self.work, "commit", "--quiet", "-m", message)
        if push:
            git(self.work, "push", "--quiet", *(["--force"] if force else []), "origin", "main")
        return self.head()

    def head(self) -> str:
        return git(self.work, "rev-parse", "HEAD")

    def reset_hard(self, ref: str) -> None:
        git(self.work, "reset", "--quiet", "--hard", ref)


def page(title: str, body: str) -> str:
    """A small Markdown page of its own words."""
    return f"# {title}\n\n{body}\n"
