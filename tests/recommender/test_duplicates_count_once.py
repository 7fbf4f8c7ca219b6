"""A re-posted copy never inflates what the recommender counts (kb.dedupe): materials list a
duplicate group once, and experts credit its author once. Mechanics, on the hashing
stand-in model: the copies are found by their words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import ingest_paths
from kb import KnowledgeBase, open_knowledge_base
from recommender import experts, graph_for, recommend
from tests.recommender.test_materials import catalog

TUNING = (
    "Start hyperparameter tuning with a learning rate sweep on a log scale, then tune batch "
    "size and weight decay. Random search beats grid search when only a few hyperparameters "
    "matter. Keep a validation set apart, and stop trials early when the loss plateaus. "
    "Record every trial with its seed so that the best run can be repeated later."
)
FILES = {
    # the original, its re-post by the same author under another title, and another document
    "core/tuning.md": ("Hyperparameter tuning basics", "Alice Ames", TUNING),
    "wiki/tuning-repost.md": ("Tuning, a quick guide", "Alice Ames", TUNING),
    "infra/scale.md": (
        "Hyperparameter search at scale",
        "Omar Ops",
        "Running hyperparameter tuning on a cluster: successive halving, Hyperband and "
        "population based training cut the cost of a learning rate search across many GPUs.",
    ),
}


@pytest.fixture
def knowledge_base(tmp_path: Path, fake_embedder: Any) -> Iterator[KnowledgeBase]:
    root = tmp_path / "docs"
    for name, (title, author, body) in FILES.items():
        team = name.split("/")[0]
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\ntitle: {title}\nteam: {team}\nskills: [tuning]\nauthor: {author}\n---\n\n"
            f"# {title}\n\n{body}\n",
            encoding="utf-8",
        )
    kb = open_knowledge_base(tmp_path / "home", embedder=fake_embedder)
    assert not ingest_paths(kb, [root]).failed
    yield kb
    kb.close()


def test_materials_list_a_duplicate_group_once(knowledge_base: KnowledgeBase) -> None:
    (group,) = knowledge_base.duplicate_groups()
    copies = {group.canonical.doc_id, group.members[0].doc_id}
    items = recommend(catalog(), "new", knowledge_base, k=10).materials
    assert len([item for item in items if item.doc_id in copies]) == 1


def test_experts_credit_a_reposted_document_once(knowledge_base: KnowledgeBase) -> None:
    graph = graph_for(None, knowledge_base.list_documents(), None)
    answer = experts(graph, knowledge_base, "hyperparameter tuning learning rate sweep")
    alice = next(e for e in answer.experts if e.name == "Alice Ames")
    assert len(alice.authored) == 1  # the original or its re-post, not both
    assert len(answer.documents) == 2  # the group once, and the other document
