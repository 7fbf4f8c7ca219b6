"""The source registry's contract on every backend (kb.sources): sources kept in the store,
one sync at a time per source, what a sync leaves recorded, a failed sync keeping the last
good state; and a real Git repository synced into each backend's knowledge base."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ingest.sources.kinds import KINDS
from ingest.sources.sync import Syncer
from kb.sources import DefaultRule, FileRecord, SourceError, SourceSpec
from tests.contracts import fresh_backend
from tests.fakes import HashingEmbedder
from tests.git_helpers import Repo, page


def test_the_registry_keeps_sources_and_their_syncs_on_every_backend(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened = fresh_backend(backend, tmp_path / "home", request)
    registry = opened.open_source_registry()
    other = opened.open_source_registry()  # another process, replica or worker
    try:
        spec = SourceSpec(
            "handbook",
            "git",
            "https://git.example.com/handbook.git",
            options={"branch": "main", "paths": ["docs"]},
            defaults=(DefaultRule("docs/**", team="nlp", visibility=("nlp",)),),
            link="https://git.example.com/handbook/blob/{commit}/{path}",
            every=3600,
        )
        added = registry.add(spec)
        assert added.spec == spec and added.documents == 0
        assert added.status.next_run_at is not None  # timed: due at once
        registry.add(SourceSpec("notes", "folder", "/srv/notes"))  # manual: never due
        with pytest.raises(SourceError, match="already a source called handbook"):
            other.add(spec)
        assert [s.name for s in other.list()] == ["handbook", "notes"]

        # one sync at a time per source, whoever asks
        assert registry.claim_due("worker-a") is not None
        assert other.claim_due("worker-b") is None  # handbook is held, notes is not due
        assert other.claim("handbook", "worker-b") is None
        assert registry.claim("handbook", "worker-a") is not None  # renewing one's own
        assert other.claim("handbook", "worker-b", takeover="worker-a") is not None  # dead
        registry.put_file("handbook", "docs/a.md", FileRecord("source:handbook!/docs/a.md", "c1"))
        registry.put_file("handbook", "docs/b.md", FileRecord("source:handbook!/docs/b.md", "c1"))
        registry.put_file("handbook", "docs/a.md", FileRecord("source:handbook!/docs/a.md", "c2"))
        registry.drop_file("handbook", "docs/b.md")
        assert other.files("handbook") == {
            "docs/a.md": FileRecord("source:handbook!/docs/a.md", "c2")
        }
        other.finish(
            "handbook",
            "worker-b",
            state={"commit": "c2"},
            error=None,
            summary={"added": 1},
            failures=[{"path": "docs/bad.pdf", "error": "encrypted"}],
        )
        done = registry.get("handbook")
        assert done is not None and not done.running()
        assert (done.status.state, done.documents, done.status.error) == ({"commit": "c2"}, 1, None)
        assert done.status.next_run_at is not None and done.status.next_run_at > time.time() + 3000
        assert done.view()["failures"] == [{"path": "docs/bad.pdf", "error": "encrypted"}]

        # a failed sync records why and keeps the last good state
        assert registry.claim("handbook", "worker-a") is not None
        registry.finish(
            "handbook", "worker-a", state=None, error="unreachable", summary={}, failures=[]
        )
        failed = other.get("handbook")
        assert failed is not None
        assert (failed.status.state, failed.status.error) == ({"commit": "c2"}, "unreachable")
        assert failed.status.last_ok_at == done.status.last_ok_at

        assert registry.request_sync("handbook") and not registry.request_sync("nope")
        assert other.claim_due("worker-b") is not None  # due again
        assert registry.remove("handbook") and not registry.remove("handbook")
        assert other.files("handbook") == {} and [s.name for s in other.list()] == ["notes"]
    finally:
        registry.close()
        other.close()


def test_a_git_source_syncs_into_every_backend(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, fake_embedder: HashingEmbedder
) -> None:
    repo = Repo(tmp_path / "git")
    repo.write({"a.md": page("Alpha", "First page."), "b/c.md": page("Gamma", "Second page.")})
    first = repo.commit("first")
    opened = fresh_backend(backend, tmp_path / "home", request)
    kb = opened.open_knowledge_base(embedder=fake_embedder)
    registry = opened.open_source_registry()
    try:
        link = "https://git.example.com/r/blob/{commit}/{path}"
        registry.add(KINDS["git"].check(SourceSpec("r", "git", repo.url, link=link)))
        syncer = Syncer(kb, registry, tmp_path / "home")
        assert syncer.sync("r").added == 2
        repo.write({"a.md": None, "b/c.md": page("Gamma", "Second page, edited.")})
        second = repo.commit("second")
        report = syncer.sync("r")
        assert (report.mode, report.parsed, report.updated, report.removed) == ("diff", 1, 1, 1)
        docs = kb.store.list_documents()
        assert [(d.source, d.link, d.root) for d in docs] == [
            ("b/c.md", link.format(commit=second, path="b/c.md"), "source:r")
        ]
        assert first != second
        assert kb.search("edited", mode="lexical")[0].link == docs[0].link
        assert registry.get("r").documents == 1  # type: ignore[union-attr]
    finally:
        registry.close()
        kb.close()
