"""A Git source kept in step with a real repository: git init, commits, a rename, a deletion
and a force-push that rewrites history, fetched by kb through a path URL. Only what changed
is read; nothing is lost or stored twice; every hit links to its file at the commit read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.sources.sync import Syncer, parse_default
from kb import KnowledgeBase
from kb.sources import SourceSpec
from kb.sources.sqlite import SqliteSourceRegistry
from tests.git_helpers import Repo, page

LINK = "https://git.example.com/handbook/blob/{commit}/{path}"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    made = Repo(tmp_path / "git")
    made.write(
        {
            "README.md": page("Handbook", "How the training programme is run."),
            "docs/retrieval.md": page("Retrieval", "Dense and sparse retrieval, fused."),
            "docs/agents.md": page("Agents", "Tool use and planning loops."),
            "notes/old.md": page("Old notes", "Notes nobody reads any more."),
            "build/out.md": page("Build output", "Generated, never to be read."),
        }
    )
    made.commit("first")
    return made


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[SqliteSourceRegistry]:
    opened = SqliteSourceRegistry(tmp_path / "home" / "sources.sqlite")
    yield opened
    opened.close()


def _syncer(kb: KnowledgeBase, registry: SqliteSourceRegistry, tmp_path: Path) -> Syncer:
    return Syncer(kb, registry, tmp_path / "home", embed=False)


def _add(registry: SqliteSourceRegistry, repo: Repo) -> None:
    from ingest.sources.kinds import KINDS

    spec = SourceSpec(
        "handbook",
        "git",
        repo.url,
        options={"branch": "main", "ignore": ["build/"]},
        defaults=(parse_default("team=platform"), parse_default("docs/**: team=nlp")),
        link=LINK,
    )
    registry.add(KINDS["git"].check(spec))


def _sources(kb: KnowledgeBase) -> dict[str, str | None]:
    """source path -> link, for every stored document."""
    return {d.source: d.link for d in kb.store.list_documents()}


def test_a_git_source_reads_only_what_each_commit_changed(
    kb: KnowledgeBase, registry: SqliteSourceRegistry, repo: Repo, tmp_path: Path
) -> None:
    _add(registry, repo)
    syncer = _syncer(kb, registry, tmp_path)
    first = repo.head()

    report = syncer.sync("handbook")
    assert report.error is None, report.error
    assert (report.mode, report.parsed, report.added) == ("full", 4, 4)  # build/ ignored
    assert _sources(kb) == {
        path: LINK.format(commit=first, path=path)
        for path in ("README.md", "docs/agents.md", "docs/retrieval.md", "notes/old.md")
    }
    teams = {d.source: d.team for d in kb.store.list_documents()}
    assert teams == {
        "README.md": "platform",
        "notes/old.md": "platform",
        "docs/agents.md": "nlp",
        "docs/retrieval.md": "nlp",
    }

    again = syncer.sync("handbook")  # nothing new: one fetch, nothing read
    assert (again.mode, again.parsed, again.notes["fetches"]) == ("unchanged", 0, 1)

    repo.write({"docs/retrieval.md": page("Retrieval", "Dense, sparse and late interaction.")})
    repo.rename("docs/agents.md", "docs/agents/overview.md")
    repo.write({"notes/old.md": None, "docs/eval.md": page("Evaluation", "Recall and nDCG.")})
    second = repo.commit("edit, rename, delete, add")

    report = syncer.sync("handbook")
    assert report.mode == "diff"
    assert (report.parsed, report.added, report.updated, report.removed) == (3, 2, 1, 2)
    assert _sources(kb) == {
        "README.md": LINK.format(commit=first, path="README.md"),  # unchanged: its commit
        "docs/retrieval.md": LINK.format(commit=second, path="docs/retrieval.md"),
        "docs/agents/overview.md": LINK.format(commit=second, path="docs/agents/overview.md"),
        "docs/eval.md": LINK.format(commit=second, path="docs/eval.md"),
    }
    assert registry.get("handbook").status.state == {"commit": second}  # type: ignore[union-attr]
    hit = kb.search("late interaction", mode="lexical", k=1)[0]
    assert hit.source == "docs/retrieval.md"
    assert hit.link == LINK.format(commit=second, path="docs/retrieval.md")


def test_a_force_push_falls_back_to_a_full_comparison_by_content_hash(
    kb: KnowledgeBase, registry: SqliteSourceRegistry, repo: Repo, tmp_path: Path
) -> None:
    _add(registry, repo)
    syncer = _syncer(kb, registry, tmp_path)
    syncer.sync("handbook")
    repo.write({"docs/draft.md": page("Draft", "A draft pushed by mistake.")})
    repo.commit("mistake")
    assert syncer.sync("handbook").added == 1

    repo.reset_hard("HEAD~1")  # history rewritten: the mistake is gone upstream
    repo.write({"docs/agents.md": page("Agents", "Tool use, planning loops and memory.")})
    rewritten = repo.commit("the right change", force=True)

    report = syncer.sync("handbook")
    assert report.mode == "full"
    assert report.removed == 1 and report.updated >= 1
    docs = kb.store.list_documents()
    assert sorted(d.source for d in docs) == [
        "README.md",
        "docs/agents.md",
        "docs/retrieval.md",
        "notes/old.md",
    ]  # nothing lost, nothing twice
    # the first commit is still an ancestor: files unchanged since keep their links
    assert {d.source: d.link for d in docs}["docs/agents.md"] == LINK.format(
        commit=rewritten, path="docs/agents.md"
    )
    assert syncer.sync("handbook").mode == "unchanged"


def test_a_sync_interrupted_midway_is_finished_by_the_next(
    kb: KnowledgeBase, registry: SqliteSourceRegistry, repo: Repo, tmp_path: Path
) -> None:
    _add(registry, repo)
    syncer = _syncer(kb, registry, tmp_path)
    syncer.sync("handbook")
    repo.write({f"docs/new-{n}.md": page(f"New {n}", f"Fresh page number {n}.") for n in range(5)})
    repo.write({"notes/old.md": None})
    head = repo.commit("five pages")

    def stop_after_two(done: int, total: int, current: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        syncer.sync("handbook", progress=stop_after_two)
    status = registry.get("handbook").status  # type: ignore[union-attr]
    assert status.state["commit"] != head and "interrupted" in (status.error or "")
    assert len(kb.store.list_documents()) == 4 + 2  # two of five stored, none half-written

    report = syncer.sync("handbook")  # the same changes again: the rest of them
    assert report.error is None
    assert (report.parsed, report.unchanged, report.removed) == (3, 2, 1)
    sources = [d.source for d in kb.store.list_documents()]
    assert len(sources) == len(set(sources)) == 3 + 5  # every file exactly once
    assert registry.get("handbook").status.state == {"commit": head}  # type: ignore[union-attr]


def test_a_sync_killed_on_this_machine_is_taken_over_at_once(
    kb: KnowledgeBase, registry: SqliteSourceRegistry, repo: Repo, tmp_path: Path
) -> None:
    import socket
    import subprocess
    import sys

    _add(registry, repo)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = f"{socket.gethostname()}:{gone.stdout.strip()}:killed"
    assert registry.claim("handbook", dead) is not None  # its claim outlives it
    report = _syncer(kb, registry, tmp_path).sync("handbook")
    assert report.error is None and report.added == 4
