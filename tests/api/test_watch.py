"""Watched folders end to end, in real processes: `kb serve` with KB_WATCH (file events and
polling) answering over HTTP while files are copied in, changed, renamed and deleted; and
`kb watch` killed (SIGKILL) mid-sync three times, which loses nothing and doubles nothing.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import free_port, markdown_doc, stop_process, write

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_AUTH_DISABLED": "1"}


def kb_cli(home: Path) -> list[str]:
    return [sys.executable, "-m", "api.cli", "--home", str(home)]


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return dict(json.loads(response.read()))


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> float:
    """Seconds until `check` holds; fails naming `what` after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout}s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def write_slowly(path: Path, text: str, pieces: int = 5, pause: float = 0.3) -> None:
    step = len(text) // pieces + 1
    with path.open("w", encoding="utf-8") as out:
        for start in range(0, len(text), step):
            out.write(text[start : start + step])
            out.flush()
            time.sleep(pause)


@pytest.fixture(params=[False, True], ids=["events", "polling"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real `kb serve` (the default model) watching a folder; (base URL, folder)."""
    folder = tmp_path / "shared"
    write(folder / "before.md", markdown_doc("Before", {"Notes": "Okapi notes from before."}))
    port = free_port()
    env = {
        **ENV,
        "KB_WATCH": str(folder),
        "KB_WATCH_POLL": "1" if request.param else "0",
        "KB_WATCH_INTERVAL": "0.5",
        "KB_WATCH_DEBOUNCE": "0.5",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*kb_cli(tmp_path / "home"), "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                get(f"{base}/health")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield base, folder
    finally:
        stop_process(server)


def lexical(base: str, words: str) -> list[str]:
    query = urllib.parse.quote(words)
    return [hit["source"] for hit in get(f"{base}/search?q={query}&mode=lexical&k=20")["hits"]]


def listed(base: str) -> list[str]:
    return sorted(doc["source"] for doc in get(f"{base}/documents?limit=100")["documents"])


def test_a_served_folder_is_followed_within_seconds(served: tuple[str, Path]) -> None:
    base, folder = served
    eventually(lambda: lexical(base, "okapi") == ["before.md"], "the rescan on start")

    write_slowly(folder / "copied.md", markdown_doc("Copied", {"Notes": "quokka " * 60 + "END"}))
    eventually(lambda: lexical(base, "quokka") == ["copied.md"], "a file copied in", 10)

    write(folder / "copied.md", markdown_doc("Copied", {"Notes": "Wombat, changed in place."}))
    eventually(lambda: lexical(base, "wombat") == ["copied.md"], "a file changed in place", 10)
    assert lexical(base, "quokka") == []

    (folder / "unit2").mkdir()
    (folder / "copied.md").rename(folder / "unit2" / "renamed.md")
    eventually(lambda: lexical(base, "wombat") == ["unit2/renamed.md"], "a file renamed", 10)

    (folder / "before.md").unlink()
    eventually(lambda: listed(base) == ["unit2/renamed.md"], "a file deleted", 10)


# -- killed mid-sync ------------------------------------------------------------------------
def stored(home: Path) -> list[str]:
    """The sources stored, read straight from the store (a process may be writing)."""
    path = home / "kb.sqlite"
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        try:
            return sorted(row[0] for row in db.execute("SELECT source FROM documents"))
        except sqlite3.OperationalError:  # not created yet
            return []


def on_disk(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.md"))


def page(i: int, word: str = "") -> str:
    return markdown_doc(f"Page {i}", {"Notes": f"Page number {i} of the handbook. {word} " * 8})


def test_killed_three_times_mid_sync_every_file_is_there_once(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "shared"
    for i in range(300):
        write(folder / f"part{i // 100}" / f"page{i:03d}.md", page(i))
    log = tmp_path / "watch.log"

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen(
                [*kb_cli(home), "watch", str(folder), "--no-embed"],
                env=ENV,
                stdout=out,
                stderr=out,
            )

    killed_at = []
    for round_ in range(3):
        watcher = start()
        before = len(stored(home))
        # killed once it has stored some of what it has to do, and before it is done
        eventually(lambda n=before: len(stored(home)) > n + 5, "progress before the kill", 120)
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=30)
        killed_at.append(len(stored(home)))
        # meanwhile, at the source: files deleted, renamed, changed and added
        (folder / "part0" / f"page{round_:03d}.md").unlink()
        (folder / "part1" / f"page{100 + round_:03d}.md").rename(folder / f"moved{round_}.md")
        write(folder / "part2" / f"page{200 + round_:03d}.md", page(200 + round_, f"edit{round_}"))
        write(folder / f"late{round_}.md", page(1000 + round_))
    assert all(count < 300 for count in killed_at), killed_at  # each kill was mid-sync

    mark = log.stat().st_size
    watcher = start()
    try:
        eventually(lambda: "compared" in log.read_text()[mark:], "the rescan after the kills", 120)
        assert stored(home) == on_disk(folder)
        write(folder / "after.md", page(2000))  # and it goes on watching
        eventually(lambda: stored(home) == on_disk(folder), "a file added after the rescan", 15)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=60)
    sources = stored(home)
    assert len(sources) == len(set(sources)) == len(on_disk(folder)) == 300 - 3 + 3 + 1
    found = subprocess.run(
        [*kb_cli(home), "search", "edit2", "--mode", "lexical", "--json"],
        env=ENV,
        capture_output=True,
        check=True,
    )
    assert [hit["source"] for hit in json.loads(found.stdout)["hits"]] == ["part2/page202.md"]


def test_kb_watch_is_a_colon_separated_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import Settings

    monkeypatch.setenv("KB_WATCH", "/srv/training:/mnt/share/handouts")
    assert Settings().watch == [Path("/srv/training"), Path("/mnt/share/handouts")]
    monkeypatch.setenv("KB_WATCH", '["/srv/a:b", "/srv/c"]')  # a JSON list may hold a ':'
    assert Settings().watch == [Path("/srv/a:b"), Path("/srv/c")]
    monkeypatch.delenv("KB_WATCH")
    assert Settings().watch == [] and Settings().watch_poll is None


def test_serve_refuses_a_watched_folder_that_is_not_there(tmp_path: Path) -> None:
    started = subprocess.run(
        [*kb_cli(tmp_path / "home"), "serve", "--port", str(free_port())],
        env={**ENV, "KB_WATCH": str(tmp_path / "missing")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert "KB_WATCH names" in started.stderr and "mount the share" in started.stderr
