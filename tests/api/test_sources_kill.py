"""A Git source's sync killed with SIGKILL, in real processes: `kb source sync` killed mid-sync
three times while the repository moves on (edits, a rename, deletions, additions), then a sync
that finishes. Nothing is lost and nothing doubled: every file at the source is stored exactly
once, nothing deleted there remains, edited text is found. The claim each killed process
leaves behind blocks nobody: the scheduler of `kb serve` (and `kb worker`) and `kb source sync`
take over a holder that died on this machine at once, not after its two-minute lease."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.git_helpers import Repo, git
from tests.helpers import free_port, stop_process

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_AUTH_DISABLED": "1"}
PAGES = 300


def kb(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", "--home", str(home), *args]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(kb(home, *args), env=ENV, capture_output=True, text=True, timeout=300)


def eventually(check: Callable[[], bool], what: str, timeout: float) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from a store file, read-only (a process may be writing it)."""
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []


def stored(home: Path) -> list[str]:
    """The source paths of the stored documents, duplicates kept."""
    return sorted(row[0] for row in _rows(home / "kb.sqlite", "SELECT source FROM documents"))


def claim(home: Path) -> tuple[dict[str, Any], str | None]:
    """The handbook's recorded state and who holds its claim."""
    ((state, holder),) = _rows(
        home / "sources.sqlite", "SELECT state, claimed_by FROM sources WHERE name = 'handbook'"
    )
    return json.loads(state), holder


def at_source(repo: Repo) -> list[str]:
    return sorted(git(repo.work, "ls-files").splitlines())


def page(i: int, word: str = "") -> str:
    return f"# Page {i}\n\n## Notes\n\nPage number {i} of the handbook. {word}\n"


def test_killed_three_times_mid_sync_every_file_is_there_once(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "git")
    for i in range(PAGES):
        path = repo.work / f"part{i // 100}" / f"page{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(i), encoding="utf-8")
    git(repo.work, "add", "--all")
    repo.commit("three hundred pages")
    home = tmp_path / "home"
    added = run(home, "source", "add", "handbook", "git", repo.url, "--every", "1h")
    assert added.returncode == 0, added.stderr

    killed_at: list[int] = []
    for round_ in range(3):
        before = len(stored(home))
        log = (tmp_path / f"sync{round_}.log").open("wb")
        with log:
            syncing = subprocess.Popen(kb(home, "source", "sync", "handbook"), env=ENV,
                                       stdout=log, stderr=log)  # fmt: skip
            # rounds 2 and 3 start while the killed one's claim is still held: `kb source
            # sync` takes it over (otherwise it would refuse, "being synced by ...")
            # killed once it has stored some of what it has to do, and before it is done
            eventually(lambda n=before: len(stored(home)) > n + 5, "progress", 120)
            syncing.send_signal(signal.SIGKILL)
            assert syncing.wait(timeout=30) == -signal.SIGKILL
        killed_at.append(len(stored(home)))
        state, holder = claim(home)
        assert state == {}, "a killed sync records no commit"
        assert holder is not None and f":{syncing.pid}:" in holder  # its claim is left behind
        # meanwhile, at the source: a deletion, a rename, an edit and an addition
        repo.write({f"part0/page{round_:03d}.md": None})
        repo.rename(f"part1/page{100 + round_:03d}.md", f"moved{round_}.md")
        repo.write({f"part2/page{200 + round_:03d}.md": page(200 + round_, f"edit{round_}")})
        repo.write({f"late{round_}.md": page(1000 + round_)})
        repo.commit(f"round {round_}")
    assert all(count < PAGES for count in killed_at), killed_at  # each kill was mid-sync
    assert killed_at == sorted(killed_at) and len(set(killed_at)) == 3  # and each got further

    # the scheduler of `kb serve` finds the source due (its interval's first run never
    # finished) and takes the dead process's claim over at once, not after the lease
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            kb(home, "serve", "--port", str(port), "--log-level", "warning"),
            env=ENV,
            stdout=log,
            stderr=log,
        )
    try:

        def synced() -> bool:
            try:
                (source,) = get(f"http://127.0.0.1:{port}/sources")
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                return False
            return bool(source["state"] == {"commit": repo.head()} and not source["running"])

        # (well inside the lease: CLAIM_SECONDS, 120 s, since the last killed sync's claim)
        eventually(synced, "the scheduled sync after the kills", 60)
    finally:
        stop_process(server)
    assert claim(home) == ({"commit": repo.head()}, None)

    sources = stored(home)
    assert sources == at_source(repo)  # every file once, nothing deleted at the source remains
    assert len(sources) == len(set(sources)) == PAGES - 3 + 3
    assert not {f"part0/page{i:03d}.md" for i in range(3)} & set(sources)
    assert {f"moved{i}.md" for i in range(3)} | {f"late{i}.md" for i in range(3)} <= set(sources)
    recorded = _rows(home / "sources.sqlite", "SELECT path FROM source_files")
    assert sorted(row[0] for row in recorded) == sources  # the registry's rows agree
    for i in range(3):
        found = run(home, "search", f"edit{i}", "--mode", "lexical", "--json")
        hits = [hit["source"] for hit in json.loads(found.stdout)["hits"]]
        assert hits == [f"part2/page{200 + i:03d}.md"], found.stdout

    # and a sync from the command line now has nothing to do
    again = run(home, "source", "sync", "handbook", "--json")
    (report,) = json.loads(again.stdout)
    assert (report["error"], report["parsed"], report["added"], report["removed"]) == (
        None,
        0,
        0,
        0,
    )
