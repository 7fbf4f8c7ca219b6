"""Watched folders, in this process: a real folder, real file events (or polling), a real
store with the hashing stand-in for the model (these are tests of mechanics).

Every test runs twice: with the OS's file events and with polling (as on a network share).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest import Limits, discover
from ingest.folder_sync import FolderSync, WatchedFolder
from ingest.sources.files import FolderRules, SourceFile, discover_files
from ingest.sources.watch import Changes, FolderUnavailable, FolderWatcher, needs_polling
from kb import Embedder, KnowledgeBase, open_knowledge_base
from tests.helpers import markdown_doc, write

DEBOUNCE = 0.6
INTERVAL = 0.3


@pytest.fixture(params=[False, True], ids=["events", "polling"])
def poll(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


class Told:
    """What a watcher told, in order, with a way to wait for it."""

    def __init__(self) -> None:
        self.batches: list[Changes] = []
        self._changed = threading.Condition()

    def __call__(self, changes: Changes) -> None:
        with self._changed:
            self.batches.append(changes)
            self._changed.notify_all()

    def wait_for(self, check: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check():
                left = deadline - time.monotonic()
                assert left > 0, f"not told in {timeout}s: {self.batches}"
                self._changed.wait(left)

    def paths(self, kind: str) -> list[str]:
        return [path for batch in self.batches for path in getattr(batch, kind)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


@pytest.fixture
def told_by(folder: Path, poll: bool) -> Iterator[Told]:
    told = Told()
    watcher = FolderWatcher(
        folder, told, poll=poll, interval_s=INTERVAL, debounce_s=DEBOUNCE
    ).start()
    yield told
    watcher.stop()


def write_slowly(path: Path, text: str, pieces: int = 5, pause: float = 0.3) -> None:
    """As a copy over a slow network writes: a piece at a time, for longer than the
    debounce window as a whole, but with each pause shorter than it."""
    step = len(text) // pieces + 1
    with path.open("w", encoding="utf-8") as out:
        for start in range(0, len(text), step):
            out.write(text[start : start + step])
            out.flush()
            time.sleep(pause)


def test_a_file_being_copied_is_told_once_when_it_is_whole(folder: Path, told_by: Told) -> None:
    target = folder / "week1.md"
    text = markdown_doc("Week one", {"Notes": "Gradient clipping " * 40 + "THE-END"})
    write_slowly(target, text)
    finished = time.monotonic()
    told_by.wait_for(lambda: bool(told_by.paths("added") or told_by.paths("modified")))
    time.sleep(DEBOUNCE * 2)  # nothing more comes
    assert told_by.paths("added") + told_by.paths("modified") == ["week1.md"]
    assert time.monotonic() - finished < 10


def test_partial_and_temporary_names_are_never_told(folder: Path, told_by: Told) -> None:
    for name in ("notes.md.part", "~$slides.pptx", "video.mp4.crdownload", ".notes.md.swp"):
        write(folder / name, "half a file")
    write(folder / ".hidden" / "inside.md", "# Hidden")
    write(folder / "picture.png", "not material")
    write(folder / "notes.md.part", "# Notes\n\nwhole now")
    (folder / "notes.md.part").rename(folder / "notes.md")  # how a download lands
    told_by.wait_for(lambda: "notes.md" in told_by.paths("added") + told_by.paths("modified"))
    time.sleep(DEBOUNCE * 2)
    assert told_by.paths("added") + told_by.paths("modified") == ["notes.md"]


def test_renames_and_deletions_are_told_as_gone_and_new(folder: Path, poll: bool) -> None:
    write(folder / "old.md", "# Old")
    write(folder / "doomed.md", "# Doomed")
    write(folder / "module" / "a.md", "# A")
    told = Told()
    watcher = FolderWatcher(folder, told, poll=poll, interval_s=INTERVAL, debounce_s=DEBOUNCE)
    watcher.start()
    try:
        (folder / "old.md").rename(folder / "new.md")
        (folder / "doomed.md").unlink()
        (folder / "module" / "a.md").unlink()
        (folder / "module").rmdir()
        told.wait_for(lambda: {"old.md", "doomed.md"} <= set(told.paths("deleted")))
        told.wait_for(lambda: "new.md" in told.paths("added") + told.paths("modified"))
    finally:
        watcher.stop()
    assert "module/a.md" in told.paths("deleted") or "module" in told.paths("deleted")


def test_a_changed_kbignore_asks_for_a_rescan(folder: Path, told_by: Told) -> None:
    write(folder / ".kbignore", "drafts/\n")
    told_by.wait_for(lambda: any(batch.rescan for batch in told_by.batches))


def test_a_folder_that_is_not_there_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(FolderUnavailable, match="mount the share"):
        FolderWatcher(tmp_path / "missing", lambda changes: None)


def test_network_file_systems_are_polled(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "fileserver:/export /mnt/share nfs4 rw 0 0\n"
        "//nas/training /mnt/nas cifs rw 0 0\n"
    )
    assert needs_polling(Path("/mnt/share/course"), mounts)
    assert needs_polling(Path("/mnt/nas"), mounts)
    assert not needs_polling(Path("/home/someone/docs"), mounts)
    assert not needs_polling(Path("/mnt/sharedrive"), mounts)  # a prefix is not a mount


def test_later_changes_win_when_batches_are_merged(folder: Path) -> None:
    first = Changes(folder, added=("a.md",), deleted=("b.md",))
    later = Changes(folder, modified=("a.md", "b.md"), deleted=("c.md",))
    merged = first.merged(later)
    assert merged.added == ("a.md",)  # still new to whoever reads it
    assert merged.modified == ("b.md",)  # back again
    assert merged.deleted == ("c.md",)


# -- the same files as `kb ingest FOLDER` -----------------------------------------------------
def test_files_by_name_are_the_files_the_walk_finds(folder: Path) -> None:
    """The oracle: discover_files over every path under the folder finds exactly what
    discover([folder]) does, with the same identity (origin, source, root)."""
    write(folder / ".kbignore", "drafts/\n*.tmp.md\n")
    for name in (
        "a.md",
        "module/b.md",
        "module/deep/c.txt",
        "drafts/d.md",
        "e.tmp.md",
        ".git/f.md",
        "g.png",
        "a.md.meta.yaml",
    ):
        write(folder / name, "# Title\n\ntext")
    everything = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]

    def identity(items: Iterator[object]) -> list[tuple[str, str, str]]:
        return sorted(
            (item.origin, item.source, item.root) for item in items if isinstance(item, SourceFile)
        )

    walked = identity(discover([folder], Limits()))
    assert [source for _, source, _ in walked] == ["a.md", "module/b.md", "module/deep/c.txt"]
    assert identity(discover_files(folder, everything, Limits())) == walked
    assert identity(discover_files(folder, ["module"], Limits())) == walked[1:]
    assert not FolderRules(folder).admits("drafts/d.md")


# -- kept in sync: the knowledge base follows the folder ---------------------------------------
@pytest.fixture
def base(tmp_path: Path, fake_embedder: Embedder) -> Iterator[KnowledgeBase]:
    knowledge_base = open_knowledge_base(tmp_path / "home", embedder=fake_embedder)
    yield knowledge_base
    knowledge_base.close()


def sources(kb: KnowledgeBase) -> list[str]:
    return sorted(doc.source for doc in kb.list_documents())


def found(kb: KnowledgeBase, words: str) -> list[str]:
    return [hit.source for hit in kb.search(words, k=10, mode="lexical")]


def eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the knowledge base did not follow the folder"
        time.sleep(0.1)


def test_the_knowledge_base_follows_the_folder(
    folder: Path, base: KnowledgeBase, poll: bool
) -> None:
    write(folder / "before.md", markdown_doc("Before", {"Notes": "Stored while nobody watched."}))
    reports = []
    watched = WatchedFolder(
        base,
        folder,
        poll=poll,
        interval_s=INTERVAL,
        debounce_s=DEBOUNCE,
        report=lambda path, batch, report: reports.append((batch, report)),
    ).start()
    try:
        assert watched.wait_synced(15)
        assert sources(base) == ["before.md"]  # the rescan on start

        write_slowly(folder / "copied.md", markdown_doc("Copied", {"Notes": "quokka " * 50}))
        eventually(lambda: found(base, "quokka") == ["copied.md"])
        added = [r for b, r in reports if b is not None and r.added]
        assert sum(r.added for r in added) == 1 and not any(r.updated for r in added)

        write(folder / "copied.md", markdown_doc("Copied", {"Notes": "wombat in place"}))
        eventually(lambda: found(base, "wombat") == ["copied.md"])
        assert found(base, "quokka") == []

        (folder / "module").mkdir()
        (folder / "copied.md").rename(folder / "module" / "moved.md")
        eventually(lambda: sources(base) == ["before.md", "module/moved.md"])

        (folder / "before.md").unlink()
        eventually(lambda: sources(base) == ["module/moved.md"])
        assert found(base, "wombat") == ["module/moved.md"]
    finally:
        watched.stop()


def test_a_folder_moved_in_whole_and_out_again(
    folder: Path, tmp_path: Path, base: KnowledgeBase, poll: bool
) -> None:
    outside = tmp_path / "elsewhere" / "unit3"
    for i in range(3):
        write(outside / f"lesson{i}.md", markdown_doc(f"Lesson {i}", {"Notes": f"kiwi{i}"}))
    watched = WatchedFolder(
        base, folder, poll=poll, interval_s=INTERVAL, debounce_s=DEBOUNCE
    ).start()
    try:
        assert watched.wait_synced(15)
        outside.rename(folder / "unit3")  # one event for the folder, none for its files
        expected = [f"unit3/lesson{i}.md" for i in range(3)]
        eventually(lambda: sources(base) == expected)
        (folder / "unit3").rename(outside)
        eventually(lambda: sources(base) == [])
    finally:
        watched.stop()


def test_a_rescan_after_a_crash_duplicates_nothing_and_keeps_nothing_deleted(
    folder: Path, base: KnowledgeBase
) -> None:
    for i in range(4):
        write(folder / f"f{i}.md", markdown_doc(f"File {i}", {"Notes": f"text {i}"}))
    sync = FolderSync(base, folder)
    first = sync.rescan()
    assert (first.added, first.removed) == (4, 0)
    (folder / "f0.md").unlink()  # while nothing watched
    write(folder / "f1.md", markdown_doc("File 1", {"Notes": "changed meanwhile"}))
    again = sync.rescan()
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 1, 2, 1)
    assert sources(base) == ["f1.md", "f2.md", "f3.md"]
    replay = sync.apply(Changes(folder, added=("f1.md", "f2.md"), deleted=("f0.md",)))
    assert (replay.added, replay.updated, replay.unchanged, replay.removed) == (0, 0, 2, 0)
    assert sources(base) == ["f1.md", "f2.md", "f3.md"]


def test_a_path_told_deleted_that_is_back_is_kept(folder: Path, base: KnowledgeBase) -> None:
    write(folder / "back.md", markdown_doc("Back", {"Notes": "saved by an editor"}))
    sync = FolderSync(base, folder)
    sync.rescan()
    assert sync.apply(Changes(folder, deleted=("back.md",))).removed == 0
    assert sources(base) == ["back.md"]
