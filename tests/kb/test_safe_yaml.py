"""Hostile YAML and metadata (issue 8, items 3 and 4): deep nesting, alias bombs and
oversized values cost the one file (or catalogue) that carries them, with a reason, and
never a traceback, a 500, a failed batch or megabytes of stored tags.

Every hostile input is generated here; none is committed."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

import ingest.pipeline as pipeline
from api.cli import main
from api.cli.common import CliContext
from ingest import ingest_paths
from ingest.errors import UnreadableFile
from ingest.metadata import parse_yaml_mapping, to_meta
from kb import Embedder, KnowledgeBase
from kb.safe_yaml import MAX_DEPTH, YamlLimitError, load_yaml
from recommender import CatalogInvalidError, load_catalog_dir
from tests.api_helpers import CATALOG, auth, files_part, ingest, running_client
from tests.helpers import markdown_doc, write

DEEP = 20_000


def deep_list(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The classic "billion laughs": about 600 bytes standing for width**levels strings."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def front_matter(yaml_text: str, title: str = "Hostile") -> str:
    return f"---\n{yaml_text}---\n\n# {title}\n\nA short body about gradient clipping.\n"


def good_doc(title: str = "Calibration") -> str:
    return markdown_doc(title, {"Reliability": "Reliability diagrams show over-confidence."})


# -- the loader itself ------------------------------------------------------------------------


def test_loader_refuses_deep_nesting_without_recursion_error() -> None:
    with pytest.raises(YamlLimitError, match=f"more than {MAX_DEPTH} levels"):
        load_yaml(f"title: {deep_list()}\n")
    with pytest.raises(YamlLimitError, match="levels"):
        load_yaml("a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)))
    assert load_yaml(f"x: {deep_list(MAX_DEPTH - 1)}")["x"] is not None  # at the limit: fine
    with pytest.raises(YamlLimitError):
        load_yaml(f"x: {deep_list(MAX_DEPTH)}")  # one more (the mapping is a level too)


def test_loader_refuses_an_alias_bomb_before_expanding_it() -> None:
    bomb = alias_bomb() + "tags: *a8\n"
    assert len(bomb) < 700
    with pytest.raises(YamlLimitError, match="100,000 values once its aliases"):
        load_yaml(bomb)


def test_loader_counts_each_alias_at_the_size_of_what_it_names() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    # mapping 1 + key a 1 + list 4 + key b 1 + list 1 + two aliases of 4 each = 16
    assert load_yaml(text, max_nodes=16) == {"a": [1, 2, 3], "b": [[1, 2, 3], [1, 2, 3]]}
    with pytest.raises(YamlLimitError):
        load_yaml(text, max_nodes=15)


def test_loader_keeps_ordinary_yaml_with_a_few_anchors() -> None:
    text = (
        "defaults: &d {team: nlp, skills: [nlp-basics, tokenisation]}\n"
        "doc:\n  <<: *d\n  title: Sentiment\n  date: 2024-03-01\n"
        "again: *d\n"
    )
    data = load_yaml(text)
    assert data["doc"] == {
        "team": "nlp",
        "skills": ["nlp-basics", "tokenisation"],
        "title": "Sentiment",
        "date": dt.date(2024, 3, 1),
    }
    assert data["again"] == data["defaults"]


def test_loader_refuses_recursion_long_input_and_bad_values_as_errors() -> None:
    with pytest.raises(YamlLimitError, match="contains it"):
        load_yaml("a: &a [1, *a]\n")
    with pytest.raises(YamlLimitError, match="characters long"):
        load_yaml("x: " + "y" * 100, max_chars=50)
    with pytest.raises(yaml.YAMLError, match="month must be in 1..12"):
        load_yaml("date: 2024-13-45\n")  # was a bare ValueError that escaped ingestion
    with pytest.raises(yaml.YAMLError):
        load_yaml("x: !!python/object:os.system {}\n")  # safe tags only


# -- metadata values ----------------------------------------------------------------------------


def test_parse_yaml_mapping_turns_limits_into_a_per_file_error() -> None:
    with pytest.raises(UnreadableFile, match="the sidecar was refused: .*levels deep"):
        parse_yaml_mapping(f"title: {deep_list()}", "the sidecar")
    with pytest.raises(UnreadableFile, match="the front matter was refused: .*aliases"):
        parse_yaml_mapping(alias_bomb() + "tags: *a8\n", "the front matter")
    with pytest.raises(UnreadableFile, match="not valid YAML at line 1 .*month"):
        parse_yaml_mapping("date: 2024-13-45", "the front matter")


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"title": ["a", "b"]}, "'title' must be a single value .* not a list"),
        ({"team": {"name": "nlp"}}, "'team' must be a single value .* not a mapping"),
        ({"tags": ["ok", ["nested"]]}, "'tags' must be a list of single values .* list"),
        ({"skills": [{"a": 1}]}, "'skills' must be a list of single values .* mapping"),
        ({"tags": [f"t{i}" for i in range(51)]}, "'tags' has 51 items, at most 50"),
        ({"tags": ",".join(f"t{i}" for i in range(60))}, "'tags' has 60 items"),
        ({"tags": ["x" * 101]}, "'tags' has an item of 101 characters"),
        ({"title": "t" * 301}, "'title' is 301 characters long, at most 300"),
        ({"author": "a" * 201}, "'author' is 201 characters long, at most 200"),
    ],
)
def test_metadata_values_are_validated(raw: dict[str, Any], pattern: str) -> None:
    with pytest.raises(UnreadableFile, match=pattern):
        to_meta(raw, "Fallback")


def test_accepted_metadata_shapes_still_work() -> None:
    meta = to_meta(
        {
            "title": "t" * 300,
            "date": dt.date(2024, 3, 1),
            "module": 3,
            "skills": {"nlp-basics": 2, "tokenisation": 3},
            "tags": "lora, adapters, lora",
            "visibility": ["nlp", None],
        },
        "Fallback",
    )
    assert meta.date == "2024-03-01" and meta.module == "3"
    assert meta.skills == ("nlp-basics", "tokenisation")
    assert meta.tags == ("lora", "adapters")
    assert meta.visibility == ("nlp",)
    assert to_meta({"tags": [f"t{i}" for i in range(50)]}, "F").title == "F"


# -- ingestion: one bad file, one failure entry, the batch stored ------------------------------


def hostile_corpus(folder: Path) -> Path:
    write(folder / "good.md", good_doc())
    write(folder / "deep.md", front_matter(f"title: {deep_list()}\n"))
    write(folder / "side.txt", "Plain notes about early stopping and patience.\n")
    write(folder / "side.txt.meta.yaml", f"title: {deep_list()}\n")
    write(folder / "bomb.md", front_matter(alias_bomb() + "tags: *a8\nskills: *a8\n"))
    write(
        folder / "many.md", front_matter(json.dumps({"tags": [f"t{i}" for i in range(500)]}) + "\n")
    )
    write(folder / "long.md", front_matter(f"tags: [{'x' * 5000}]\n"))
    write(folder / "listtitle.md", front_matter("title: [a, b]\n"))
    write(folder / "baddate.md", front_matter("date: 2024-13-45\n"))
    write(folder / "deep.vtt", f"WEBVTT\n\nNOTE\ntitle: {deep_list()}\n\n" + _cue())
    return folder


def _cue() -> str:
    return "00:00:01.000 --> 00:00:04.000\nAnna: Today we look at learning-rate warmup.\n"


def test_hostile_files_fail_alone_and_the_good_ones_are_stored(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    report = ingest_paths(kb, [hostile_corpus(tmp_path / "c")])
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {
        "deep.md",
        "side.txt",
        "bomb.md",
        "many.md",
        "long.md",
        "listtitle.md",
        "baddate.md",
        "deep.vtt",
    }
    assert "the front matter was refused" in reasons["deep.md"]
    assert "levels deep" in reasons["deep.md"]
    assert "the sidecar was refused" in reasons["side.txt"]
    assert "the NOTE metadata block was refused" in reasons["deep.vtt"]
    assert "aliases" in reasons["bomb.md"]
    assert "'tags' has 500 items" in reasons["many.md"]
    assert "'tags' has an item of 5000 characters" in reasons["long.md"]
    assert "'title' must be a single value" in reasons["listtitle.md"]
    assert "not valid YAML" in reasons["baddate.md"]
    assert all(len(reason) < 400 for reason in reasons.values())
    assert report.added == 1
    [doc] = kb.list_documents()
    assert doc.source == "good.md" and doc.title == "Calibration"


def test_ingest_cli_stores_the_good_files_beside_a_deep_one(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "c"
    write(folder / "a.md", good_doc("Drift alerts"))
    write(folder / "b.md", front_matter(f"title: {deep_list()}\n"))
    write(folder / "c.md", good_doc("LoRA"))
    write(folder / "c.md.meta.yaml", "tags: " + alias_bomb().replace("\n", "\n  ") + "\n")
    result = CliRunner().invoke(
        main, ["ingest", str(folder)], obj=CliContext(home, embedder=fake_embedder)
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    result = CliRunner().invoke(
        main, ["ingest", str(folder), "--json"], obj=CliContext(home, embedder=fake_embedder)
    )
    summary = json.loads(result.stdout)
    assert result.exit_code == 1
    assert (summary["added"], summary["unchanged"]) == (0, 1)  # a.md stored by the first run
    assert {f["path"] for f in summary["failed"]} == {"b.md", "c.md"}


def test_an_unexpected_parser_error_costs_one_file_only(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline.parse_bytes

    def flaky(data: bytes, suffix: str, *rest: Any) -> Any:
        if b"boom" in data:
            raise RuntimeError("a parser bug")
        if b"deep" in data:
            raise RecursionError("maximum recursion depth exceeded")
        return real(data, suffix, *rest)

    monkeypatch.setattr(pipeline, "parse_bytes", flaky)
    folder = tmp_path / "c"
    write(folder / "a.md", good_doc())
    write(folder / "b.md", "# boom\n\nThis file trips the parser.\n")
    write(folder / "c.md", "# deep\n\nThis one recurses.\n")
    # a notebook whose JSON nests 20,000 levels deep really does raise RecursionError
    write(folder / "d.ipynb", '{"cells": ' + deep_list() + "}")
    report = ingest_paths(kb, [folder])
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {"b.md", "c.md", "d.ipynb"}
    assert "RuntimeError: a parser bug" in reasons["b.md"]
    assert "nested too deeply" in reasons["c.md"]
    assert report.added == 1

    def interrupted(data: bytes, suffix: str, *rest: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "parse_bytes", interrupted)
    write(folder / "e.md", good_doc("Another"))
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(kb, [folder])


# -- catalogue files -----------------------------------------------------------------------


def _catalogue_parts(**replace: str) -> dict[str, bytes | str]:
    parts: dict[str, bytes | str] = {p.name: p.read_bytes() for p in CATALOG.glob("*.yaml")}
    parts.update(replace)
    return parts


def test_catalogue_load_reports_hostile_yaml_as_faults(tmp_path: Path) -> None:
    for name, data in _catalogue_parts(
        **{"employees.yaml": f"- {deep_list()}\n", "skills.yaml": alias_bomb()}
    ).items():
        (tmp_path / name).write_bytes(data.encode() if isinstance(data, str) else data)
    with pytest.raises(CatalogInvalidError) as caught:
        load_catalog_dir(tmp_path)
    faults = {f.file: f.message for f in caught.value.faults}
    assert set(faults) == {"employees.yaml", "skills.yaml"}
    assert "levels deep" in faults["employees.yaml"]
    assert "aliases" in faults["skills.yaml"]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-hostile"), fake_embedder) as c:
        yield c


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("employees.yaml", f"- {deep_list()}\n", "levels deep"),
        ("skills.yaml", alias_bomb() + "all: *a8\n", "aliases"),
        ("teams.yaml", "x: &x [1, *x]\n", "contains it"),
    ],
)
def test_put_catalog_with_hostile_yaml_is_422_not_500(
    client: TestClient, name: str, text: str, message: str
) -> None:
    response = client.put(
        "/catalog", files=files_part(_catalogue_parts(**{name: text})), headers=auth("admin")
    )
    assert response.status_code == 422, response.text
    [fault] = response.json()["error"]["faults"]
    assert fault["file"] == name and message in fault["message"]


def test_a_catalogue_of_thousands_of_faults_answers_with_the_first_and_a_count(
    client: TestClient,
) -> None:
    people = "".join(f"- {{id: p{i}, name: P, team: nowhere}}\n" for i in range(3000))
    response = client.put(
        "/catalog",
        files=files_part(_catalogue_parts(**{"employees.yaml": people})),
        headers=auth("admin"),
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert len(error["faults"]) == 200 and error["total_faults"] >= 3000
    assert "the first 200 listed" in error["message"]
    assert len(response.content) < 100_000


def test_upload_job_with_a_hostile_file_stores_the_good_one(client: TestClient) -> None:
    job = ingest(
        client,
        {
            "hostile.md": front_matter(f"title: {deep_list()}\n"),
            "bomb.md": front_matter(alias_bomb() + "tags: *a8\n"),
            "good.md": good_doc("Warmup schedules"),
        },
    )
    assert job["state"] == "done", job
    results = {f["source"]: f for f in job["files"]}
    assert results["good.md"]["status"] == "added"
    assert results["hostile.md"]["status"] == "failed"
    assert "levels deep" in results["hostile.md"]["error"]
    assert results["bomb.md"]["status"] == "failed"
    assert "aliases" in results["bomb.md"]["error"]


def test_an_oversized_sidecar_is_refused_before_it_is_read(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    write(folder / "good.md", "# Calibration\n\nReliability diagrams.\n")
    write(folder / "notes.txt", "Drift notes.\n")
    write(folder / "notes.txt.meta.yaml", "tags: [" + "x, " * 600_000 + "y]\n")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("inner.txt", "Serving notes.\n")
        bundle.writestr("inner.txt.meta.yaml", "title: " + "t" * 2_000_000 + "\n")
    report = ingest_paths(kb, [folder, archive])
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {"notes.txt", "bundle.zip/inner.txt"}
    assert all("over the limit of 1,048,576" in reason for reason in reasons.values())
    assert report.added == 1
