"""The skills framework's store and its commands, on both backends: a framework imported,
proposed, decided; a faulty import leaves everything as it was; a re-import keeps the
decisions whose skill is still there; and `kb gaps`/`next` JSON speak the framework's terms."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from recommender import (
    FrameworkInvalidError,
    NoFrameworkError,
    approve_framework_skill,
    framework_terms,
    import_framework,
    load_catalog_dir,
    mapping_view,
    propose_mapping,
    reject_framework_skill,
)
from recommender.frameworks.reading import read_framework
from recommender.frameworks.types import Decision
from tests.contracts import fresh_backend
from tests.fakes import HashingEmbedder

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "frameworks"
IDS = dict(line.split() for line in (FIXTURES / "ids.txt").read_text().splitlines())
CATALOG, _ = load_catalog_dir(ROOT / "data" / "sample" / "catalog")


def test_store_round_trip_decisions_and_reimport(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with fresh_backend(backend, tmp_path / "home", request).open_framework_store() as store:
        assert store.framework() is None and store.decisions() == {}
        with pytest.raises(NoFrameworkError):
            mapping_view(store, CATALOG)
        report = import_framework(store, FIXTURES / "esco", "esco")
        assert report.framework["skills"] == 34 and report.dropped == []
        framework = store.framework()
        # every id, label (en + zh) and broader kept
        assert framework is not None
        assert framework.concepts == read_framework(FIXTURES / "esco", "esco").concepts
        propose_mapping(store, CATALOG, None)
        assert len(store.proposals()) == len(CATALOG.skills)
        approve_framework_skill(store, CATALOG, "model-serving", None, by="t")  # first proposal
        approve_framework_skill(store, CATALOG, "data-cleaning", IDS["cleanse-data"])
        reject_framework_skill(store, CATALOG, "vector-search")
        decisions = store.decisions()
        assert decisions["model-serving"].framework_id == IDS["deploy-models"]
        assert decisions["vector-search"] == Decision(
            "vector-search", "rejected", None, decisions["vector-search"].decided_at, ""
        )
        view = mapping_view(store, CATALOG)
        assert view["counts"] == {"approved": 2, "rejected": 1, "proposed": 11, "none": 0}
        terms = framework_terms(store)
        assert terms.term("data-cleaning").labels["zh"] == "执行数据清洗"  # type: ignore[union-attr]

        # A faulty framework imports nothing: the old one, its proposals and decisions stay.
        bad = tmp_path / "bad.csv"
        bad.write_text("id,label_en\ncleanse-data,perform data cleansing\n,oops\n")
        with pytest.raises(FrameworkInvalidError):
            import_framework(store, bad, "csv")
        assert store.framework() == framework and len(store.proposals()) == len(CATALOG.skills)

        # A new release without one approved skill: that decision goes, the others stay.
        folder = tmp_path / "esco2"
        shutil.copytree(FIXTURES / "esco", folder)
        for name in ("skills_en.csv", "skills_zh.csv", "broaderRelationsSkillPillar.csv"):
            path = folder / name
            with path.open(encoding="utf-8", newline="") as f:
                rows = [row for row in csv.reader(f) if IDS["deploy-models"] not in row]
            with path.open("w", encoding="utf-8", newline="") as f:
                csv.writer(f).writerows(rows)
        assert import_framework(store, folder, "esco").dropped == ["model-serving"]
        assert sorted(store.decisions()) == ["data-cleaning", "vector-search"]
        assert store.proposals() == []  # they were about the old framework
        assert store.undecide("data-cleaning") and not store.undecide("data-cleaning")


def _cli(home: Path, url: str | None, *args: str) -> Any:
    obj = CliContext(home=home, database_url=url, embedder=HashingEmbedder())
    base = ["--home", str(home)] + (["--database-url", url] if url else [])
    result = CliRunner().invoke(main, base + list(args), obj=obj, catch_exceptions=False)
    return result


def test_cli_import_map_and_answers_in_framework_terms(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    home = tmp_path / "home"
    # the PostgreSQL backend's URL, or None for the home folder
    database_url = getattr(fresh_backend(backend, home, request), "database_url", None)
    assert (
        _cli(home, database_url, "catalog", "load", str(ROOT / "data/sample/catalog")).exit_code
        == 0
    )
    before = json.loads(_cli(home, database_url, "gaps", "liam-chen", "--json").output)
    assert "framework" not in before

    bad = tmp_path / "bad.csv"
    bad.write_text("id,label_en\nx,\n")
    result = _cli(home, database_url, "catalog", "import-framework", str(bad), "--format", "csv")
    assert result.exit_code == 2 and "bad.csv: line 2: x has no label" in result.output

    result = _cli(
        home,
        database_url,
        "catalog",
        "import-framework",
        str(FIXTURES / "simple.csv"),
        "--format",
        "csv",
        "--name",
        "company",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["framework"]["skills"] == 34
    result = _cli(
        home,
        database_url,
        "catalog",
        "map-framework",
        "--approve",
        "model-optimisation=optimise-models",
        "--approve",
        "hyperparameter-tuning=tune-hyperparameters",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["approved"] == 2
    result = _cli(
        home, database_url, "catalog", "map-framework", "--approve", "model-optimisation=g-ml"
    )
    assert result.exit_code == 2 and "not a skill of the framework company" in result.output
    result = _cli(
        home,
        database_url,
        "catalog",
        "map-framework",
        "--approve",
        "no-such-skill=tune-hyperparameters",
    )
    assert result.exit_code == 2 and "unknown skill 'no-such-skill'" in result.output

    after = json.loads(_cli(home, database_url, "gaps", "liam-chen", "--json").output)
    assert after["framework"] == {"name": "company", "source": str(FIXTURES / "simple.csv")}
    gaps = {g["skill"]: g for g in after["gaps"]}
    assert gaps["model-optimisation"]["framework_skill"]["id"] == "optimise-models"
    assert gaps["model-optimisation"]["framework_skill"]["labels"]["zh"] == "优化机器学习模型"
    assert "framework_skill" not in gaps["text-preprocessing"]  # not mapped: as before
    # nothing renamed or removed
    assert [
        {k: v for k, v in g.items() if k != "framework_skill"} for g in after["gaps"]
    ] == before["gaps"]
    nxt = json.loads(_cli(home, database_url, "next", "liam-chen", "--json").output)
    assert "optimise machine learning models 1->3" in nxt["framework_reason"]
    assert (
        nxt["module"]["framework_skills"]["hyperparameter-tuning"]["label"]
        == "tune hyperparameters"
    )
    text = _cli(home, database_url, "gaps", "liam-chen").output
    assert "tune hyperparameters (tune-hyperparameters)" in text
