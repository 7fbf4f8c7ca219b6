"""Material ranking with the real knowledge base and model on a few small documents: relevance,
diversity, cross-team sharing, feedback moving items down, and colleagues' ratings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import ingest_paths
from kb import open_knowledge_base
from recommender import Catalog, build_catalog, load_catalog_dir, recommend
from recommender.rules.feedback import apply_events
from recommender.state.events import Event

DOCS: dict[str, tuple[dict[str, Any], str]] = {
    "core/tuning-basics.md": (
        {"team": "core", "module": "m-tune", "skills": ["tuning"], "author": "Alice Ames"},
        "# Hyperparameter tuning basics\n\nStart hyperparameter tuning with a learning rate "
        "sweep on a log scale, then tune batch size and weight decay. Random search beats grid "
        "search when only a few hyperparameters matter. Keep a validation set apart.",
    ),
    "core/tuning-basics-copy.md": (
        {"team": "core", "module": "m-tune", "skills": ["tuning"], "author": "Alice Ames"},
        "# Hyperparameter tuning basics (copy)\n\nStart hyperparameter tuning with a learning "
        "rate sweep on a log scale, then tune batch size and weight decay. Random search beats "
        "grid search when only a few hyperparameters matter. Keep a validation set apart.",
    ),
    "core/tuning-handbook.md": (
        {"team": "core", "module": "m-tune", "skills": ["tuning"], "author": "Alice Ames"},
        "# Tuning handbook\n\n"
        + "\n\n".join(
            f"## Part {i}\n\nHyperparameter tuning part {i}: learning rate schedules, early "
            f"stopping and Bayesian optimisation with Optuna, trial {i} of the search budget."
            for i in range(1, 6)
        ),
    ),
    "infra/tuning-at-scale.md": (
        {"team": "infra", "module": "m-scale", "skills": ["tuning"], "author": "Omar Ops"},
        "# Hyperparameter search at scale\n\nRunning hyperparameter tuning on a cluster: "
        "successive halving, Hyperband and population based training cut the cost of a "
        "learning rate and regularisation search across many GPUs.",
    ),
    "core/cleaning.md": (
        {"team": "core", "module": "m-clean", "skills": ["cleaning"], "author": "Alice Ames"},
        "# Cleaning a labelled dataset\n\nRemove duplicate records, fix inconsistent labels, "
        "handle missing values and filter label noise before training.",
    ),
    "infra/bread.md": (
        {"team": "infra", "author": "Omar Ops"},
        "# Sourdough at home\n\nFeed the starter, mix flour and water, fold the dough every "
        "half hour and bake in a hot Dutch oven.",
    ),
}


def _write(root: Path) -> None:
    for name, (meta, body) in DOCS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["---"]
        for key, value in meta.items():
            lines.append(
                f"{key}: [{', '.join(value)}]" if isinstance(value, list) else f"{key}: {value}"
            )
        path.write_text("\n".join([*lines, "---", "", body, ""]), encoding="utf-8")


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Any]:
    """The documents above in a real kb, on the session's one real model (tests/conftest.py)."""
    root = tmp_path_factory.mktemp("material-docs")
    _write(root)
    kb = open_knowledge_base(tmp_path_factory.mktemp("material-kb"), embedder=embedder)
    report = ingest_paths(kb, [root])
    assert not report.failed, report.failed
    yield kb
    kb.close()


def doc_id(kb: Any, source_suffix: str) -> str:
    return next(d.doc_id for d in kb.list_documents() if d.source.endswith(source_suffix))


def catalog(*, extra_people: list[dict[str, Any]] | None = None) -> Catalog:
    module = {"format": "hands-on", "hours": 2, "prerequisites": []}
    return build_catalog(
        {
            "skills": [
                {
                    "id": "tuning",
                    "name": "Hyperparameter tuning",
                    "category": "model optimisation",
                    "description": "Searching learning rates and regularisation systematically.",
                },
                {
                    "id": "cleaning",
                    "name": "Data cleaning",
                    "category": "data cleaning",
                    "description": "Fixing duplicates, label noise and missing values.",
                },
            ],
            "teams": [
                {"id": "core", "name": "Core", "targets": {"tuning": 4, "cleaning": 3}},
                {"id": "infra", "name": "Infra", "targets": {}},
            ],
            "courses": [
                {
                    "id": "c",
                    "title": "C",
                    "team": "core",
                    "modules": [
                        {"id": "m-tune", "title": "Tune", "skills": {"tuning": 3}, **module},
                        {"id": "m-clean", "title": "Clean", "skills": {"cleaning": 3}, **module},
                    ],
                },
                {
                    "id": "s",
                    "title": "S",
                    "team": "infra",
                    "modules": [
                        {"id": "m-scale", "title": "Scale", "skills": {"tuning": 4}, **module},
                    ],
                },
            ],
            "employees": [
                {"id": "new", "name": "Nia New", "team": "core"},
                {"id": "omar", "name": "Omar Ops", "team": "infra", "skills": {"tuning": 5}},
                *(extra_people or []),
            ],
        }
    )


def test_materials_are_relevant_diverse_and_shared_across_teams(knowledge_base: Any) -> None:
    result = recommend(catalog(), "new", knowledge_base, k=4)
    items = result.materials
    assert items and all(item.reason for item in items)
    assert items[0].skill == "tuning"  # the largest weighted gap leads
    assert [item.skill for item in items].count("tuning") == 3
    titles = [item.title for item in items]
    assert not any("Sourdough" in t for t in titles)  # off-topic content never shows
    assert len({item.doc_id for item in items}) == len(items)  # one item per document
    assert not (
        "Hyperparameter tuning basics" in titles and "Hyperparameter tuning basics (copy)" in titles
    )  # no near-duplicates
    assert any(item.cross_team and item.team == "infra" for item in items)
    assert any(item.skill == "cleaning" for item in items)  # each searched gap gets material
    assert "no history" in result.signals


def test_who_to_ask_names_other_team_experts_and_what_they_wrote(knowledge_base: Any) -> None:
    result = recommend(catalog(), "new", knowledge_base, k=4)
    assert [c.employee for c in result.colleagues] == ["omar"]
    if any(item.author == "Omar Ops" for item in result.materials):
        assert "wrote" in result.colleagues[0].reason


def test_a_rated_document_moves_down(knowledge_base: Any) -> None:
    base = catalog()
    first = recommend(base, "new", knowledge_base, k=4).materials[0]
    event = Event(kind="rating", employee="new", doc_id=first.doc_id, rating=5, created_at="t")
    rated = apply_events(base, [event]).catalog
    after = recommend(rated, "new", knowledge_base, k=4).materials
    ids = [item.doc_id for item in after]
    assert ids[-1] == first.doc_id and after[-1].moved_down
    assert "already rated it 5/5" in after[-1].reason
    assert not any(item.moved_down for item in after[:-1])


def test_near_duplicates_are_dropped_even_with_room_to_spare(knowledge_base: Any) -> None:
    titles = [item.title for item in recommend(catalog(), "new", knowledge_base, k=10).materials]
    basics = [t for t in titles if t.startswith("Hyperparameter tuning basics")]
    assert len(basics) == 1
    assert "Tuning handbook" in titles  # a many-chunk document appears once
    assert titles.count("Tuning handbook") == 1


def test_material_of_a_completed_module_moves_down(knowledge_base: Any) -> None:
    person = {
        "id": "done",
        "name": "Dee Done",
        "team": "core",
        "skills": {"tuning": 1},
        "completed": [{"module": "m-tune", "score": 0.2}],
    }
    result = recommend(catalog(extra_people=[person]), "done", knowledge_base, k=5)
    modules = [item.module for item in result.materials]
    assert "m-tune" in modules
    first_done = modules.index("m-tune")
    assert all(item.module == "m-tune" for item in result.materials[first_done:])
    assert "you completed" in result.materials[first_done].reason


def test_similar_colleagues_ratings_lift_a_document(knowledge_base: Any) -> None:
    scale = doc_id(knowledge_base, "infra/tuning-at-scale.md")
    people = [
        {
            "id": "me",
            "name": "Me",
            "team": "core",
            "skills": {"tuning": 1, "cleaning": 1},
            "completed": [{"module": "m-clean"}],
        },
        {
            "id": "twin",
            "name": "Tia Twin",
            "team": "core",
            "skills": {"tuning": 1, "cleaning": 1},
            "completed": [{"module": "m-clean"}],
        },
    ]
    base = catalog(extra_people=people)
    without = {i.doc_id: i for i in recommend(base, "me", knowledge_base, k=6).materials}
    liked = apply_events(
        base, [Event(kind="rating", employee="twin", doc_id=scale, rating=5, created_at="t")]
    ).catalog
    result = recommend(liked, "me", knowledge_base, k=6)
    with_rating = {i.doc_id: i for i in result.materials}
    assert "collaborative" in result.signals
    assert scale in with_rating and "Tia Twin 5/5" in with_rating[scale].reason
    if scale in without:
        assert with_rating[scale].score > without[scale].score


def test_sample_corpus_and_catalogue_end_to_end(sample_kb: Any) -> None:
    """The shipped sample: a newcomer's largest gaps get tagged, cross-team, reasoned material."""
    sample, _ = load_catalog_dir(Path(__file__).parents[2] / "data" / "sample" / "catalog")
    result = recommend(sample, "noor-haddad", sample_kb, k=6)
    top_gaps = {g.skill for g in result.gaps[:3]}
    assert result.materials and all(item.reason for item in result.materials)
    assert all(item.skill in top_gaps for item in result.materials)
    first = result.materials[0]
    assert first.skill in sample_kb.get_document(first.doc_id).skills
    assert any(item.team not in (None, "nlp") for item in result.materials)
    assert len({item.doc_id for item in result.materials}) == len(result.materials)
    assert result.colleagues and all(c.team != "nlp" for c in result.colleagues)
