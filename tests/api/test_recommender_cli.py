"""The recommender's CLI: JSON shapes, readable output, and exit status 2 with nothing written
on bad input. Uses a throwaway click group, as the lead's `kb` group does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from api.cli.common import CliContext
from api.cli.recommender import register
from recommender.state.sqlite import CatalogStore

CATALOGS = Path(__file__).parents[1] / "catalogs"


@dataclass
class FakeDoc:
    title: str = "A guide"
    team: str | None = "infra"
    course: str | None = None
    module: str | None = "m-opt"
    author: str | None = None


class FakeKnowledgeBase:
    """Only `get_document` is needed to rate; the ranking itself is tested with the real kb."""

    def get_document(self, doc_id: str) -> FakeDoc | None:
        return FakeDoc() if doc_id == "doc-1" else None

    def close(self) -> None:
        pass


@pytest.fixture
def run(tmp_path: Path) -> Any:
    @click.group()
    def kb() -> None:
        pass

    register(kb)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        obj = CliContext(home=tmp_path, knowledge_base=FakeKnowledgeBase())  # type: ignore[arg-type]
        return runner.invoke(kb, list(args), obj=obj, catch_exceptions=False)

    assert invoke("catalog", "load", str(CATALOGS / "small")).exit_code == 0
    return invoke


def events(tmp_path: Path) -> int:
    with CatalogStore.open(tmp_path) as store:
        return len(store.events())


def test_gaps_json(run: Any) -> None:
    data = json.loads(run("gaps", "alice", "--json").output)
    assert data["employee"] == "alice" and data["gaps"][0]["skill"] == "opt"


def test_next_json_and_human_form(run: Any) -> None:
    data = json.loads(run("next", "alice", "--json").output)
    assert data["module"]["id"] == "m-opt" and data["reason"] and data["alternatives"]
    text = run("next", "alice").output
    assert "m-opt" in text and "why:" in text


def test_plan_team_json(run: Any) -> None:
    plan = json.loads(run("plan", "alice", "--hours", "4", "--json").output)
    assert plan["total_hours"] <= 4 and plan["gap_closed"] == 5.0
    team = json.loads(run("team", "core", "--json").output)
    assert team["skills"][0]["skill"] == "opt" and team["modules"][0]["id"] == "m-opt"


def test_complete_changes_next(run: Any) -> None:
    result = run("complete", "alice", "m-opt", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["changes"] == [{"skill": "opt", "before": 1, "after": 3}]
    assert json.loads(run("next", "alice", "--json").output)["module"]["id"] != "m-opt"


def test_rate_records_a_known_document(run: Any, tmp_path: Path) -> None:
    result = run("rate", "alice", "doc-1", "5", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["rating"] == 5
    assert events(tmp_path) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gaps", "ghost"), "unknown employee 'ghost'"),
        (("next", "ghost", "--json"), "unknown employee 'ghost'"),
        (("plan", "ghost", "--hours", "5"), "unknown employee 'ghost'"),
        (("recommend", "ghost"), "unknown employee 'ghost'"),
        (("team", "ghosts"), "unknown team 'ghosts'"),
        (("complete", "ghost", "m-opt"), "unknown employee 'ghost'"),
        (("complete", "alice", "m-ghost"), "unknown module 'm-ghost'"),
        (("complete", "alice", "m-opt", "--score", "1.5"), "score must be between 0 and 1"),
        (("complete", "alice", "m-opt", "--score", "-0.5"), "score must be between 0 and 1"),
        (("rate", "ghost", "doc-1", "3"), "unknown employee 'ghost'"),
        (("rate", "alice", "doc-ghost", "3"), "unknown document 'doc-ghost'"),
        (("rate", "alice", "doc-1", "6"), "rating must be an integer 1..5"),
        (("rate", "alice", "doc-1", "0"), "rating must be an integer 1..5"),
        (("plan", "alice", "--hours", "0"), "hours must be a positive number"),
    ],
)
def test_bad_input_exits_2_with_a_sentence_and_writes_nothing(
    run: Any, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert events(tmp_path) == 0


def test_faulty_catalogue_exits_2_listing_every_fault(run: Any) -> None:
    result = run("catalog", "load", str(CATALOGS / "faulty"))
    assert result.exit_code == 2
    assert "12 fault(s)" in result.output and "prerequisite cycle" in result.output
    assert json.loads(run("gaps", "alice", "--json").output)["employee"] == "alice"  # old one


def test_faulty_catalogue_json_lists_faults(run: Any) -> None:
    result = run("catalog", "load", str(CATALOGS / "faulty"), "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["loaded"] is False and len(payload["faults"]) == 12
    assert {"file", "entry", "message"} == set(payload["faults"][0])


def test_questions_before_a_catalogue_is_loaded_exit_2(tmp_path: Path) -> None:
    @click.group()
    def kb() -> None:
        pass

    register(kb)
    result = CliRunner().invoke(kb, ["gaps", "alice"], obj=CliContext(home=tmp_path / "empty"))
    assert result.exit_code == 2 and "kb catalog load" in result.output
