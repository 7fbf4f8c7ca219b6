"""Gap, next-module, completion and team rules on small purpose-built catalogues (no kb)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from api.cli.common import to_json
from recommender import (
    Catalog,
    Completion,
    InvalidValueError,
    UnknownIdError,
    build_catalog,
    completed_level,
    current_catalog,
    default_weight,
    employee_gaps,
    load_catalog,
    load_catalog_dir,
    next_module,
    recommend,
    record_completion,
    team_report,
)
from recommender.state.sqlite import CatalogStore

CATALOGS = Path(__file__).parents[1] / "catalogs"


@pytest.fixture(scope="module")
def small() -> Catalog:
    return load_catalog_dir(CATALOGS / "small")[0]


def make(
    skills: dict[str, str],
    modules: list[dict[str, Any]],
    employee: dict[str, Any],
    team_targets: dict[str, int],
) -> Catalog:
    """A one-team, one-course catalogue built in the test."""
    raw = {
        "skills": [{"id": s, "name": s, "category": c} for s, c in skills.items()],
        "teams": [{"id": "t", "name": "T", "targets": team_targets}],
        "courses": [{"id": "c", "title": "C", "team": "t", "modules": modules}],
        "employees": [{"id": "e", "name": "E", "team": "t", **employee}],
    }
    return build_catalog(raw)


def mod(ident: str, hours: float, skills: dict[str, int], *prereqs: str) -> dict[str, Any]:
    return {
        "id": ident,
        "title": ident,
        "format": "lecture",
        "hours": hours,
        "skills": skills,
        "prerequisites": list(prereqs),
    }


# -- weights and gaps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "weight"),
    [
        ("model optimisation", 1.5),
        ("Model Optimization", 1.5),
        ("algorithm-innovation", 1.5),
        ("data preprocessing", 1.0),
        ("data cleaning", 1.0),
        ("mlops", 0.5),
        ("evaluation", 0.5),
    ],
)
def test_default_weight_follows_the_programme_model(category: str, weight: float) -> None:
    assert default_weight(category) == weight


def test_explicit_weight_overrides_the_category(small: Catalog) -> None:
    assert small.weight("prep") == 2.0
    assert [small.weight(s) for s in ("opt", "clean", "serve")] == [1.5, 1.0, 0.5]


def test_gaps_are_weighted_and_largest_first(small: Catalog) -> None:
    report = employee_gaps(small, "alice")
    rows = [(g.skill, g.current, g.target, g.gap, g.weighted_gap) for g in report.gaps]
    assert rows == [("opt", 1, 3, 2, 3.0), ("clean", 1, 3, 2, 2.0), ("serve", 0, 2, 2, 1.0)]
    assert report.total_weighted_gap == 6.0


def test_personal_target_beats_team_target_and_gap_never_negative(small: Catalog) -> None:
    gaps = {g.skill: g for g in employee_gaps(small, "picky").gaps}
    assert (gaps["opt"].target, gaps["opt"].target_source) == (4, "personal")
    assert (gaps["clean"].target, gaps["clean"].target_source) == (3, "team")
    assert gaps["serve"].target == 1 and gaps["serve"].current == 3
    assert gaps["serve"].gap == 0 and gaps["serve"].weighted_gap == 0


def test_gaps_json_shape(small: Catalog) -> None:
    data = to_json(employee_gaps(small, "alice"))
    assert set(data["gaps"][0]) >= {"skill", "current", "target", "gap", "weight", "weighted_gap"}


# -- next module -------------------------------------------------------------------------------


def test_a_1_5_weight_gap_outranks_an_equal_1_0_weight_gap(small: Catalog) -> None:
    # alice: opt 1->3 (x1.5) and clean 1->3 (x1.0), both modules 2 h: the weight decides.
    result = next_module(small, "alice")
    assert result.option is not None and result.option.module.id == "m-opt"
    assert result.alternatives[0].module.id == "m-clean"
    assert result.option.closed == 3.0 and result.alternatives[0].closed == 2.0


def test_next_reason_names_gaps_and_prerequisites(small: Catalog) -> None:
    result = next_module(small, "alice")
    assert "opt 1->3" in result.reason and "no prerequisites" in result.reason
    catalog = make(
        {"x": "other", "y": "other"},
        [mod("a", 1, {"x": 2}), mod("b", 1, {"y": 3}, "a")],
        {"skills": {"x": 2}, "completed": [{"module": "a"}]},
        {"x": 2, "y": 3},
    )
    later = next_module(catalog, "e")
    assert later.option is not None and later.option.module.id == "b"
    assert "prerequisites met: a" in later.reason and "y 0->3" in later.reason


def test_next_never_offers_a_completed_module(small: Catalog) -> None:
    # bob completed m-opt (score 0): it would close opt best (3.0 in 2 h) but is done.
    result = next_module(small, "bob")
    assert result.option is not None and result.option.module.id == "m-deep"
    assert [a.module.id for a in result.alternatives] == ["m-serve"]
    assert "prerequisites met: m-opt (completed)" in result.reason


def test_next_ranks_by_gap_closed_per_hour() -> None:
    catalog = make(
        {"x": "model optimisation", "y": "other"},
        [mod("big", 10, {"x": 5}), mod("quick", 1, {"y": 2})],
        {},
        {"x": 5, "y": 2},
    )
    # big: 5 * 1.5 = 7.5 in 10 h (0.75/h); quick: 2 * 0.5 = 1 in 1 h (1/h).
    result = next_module(catalog, "e")
    assert result.option is not None and result.option.module.id == "quick"
    assert result.alternatives[0].module.id == "big"


def test_next_tie_break_is_course_order() -> None:
    catalog = make(
        {"x": "other", "y": "other"},
        [mod("second-in-file", 2, {"x": 2}), mod("first-in-file", 2, {"y": 2})][::-1],
        {},
        {"x": 2, "y": 2},
    )
    result = next_module(catalog, "e")
    assert result.option is not None and result.option.module.id == "first-in-file"


def test_gap_closed_counts_only_up_to_the_target() -> None:
    catalog = make({"x": "data cleaning"}, [mod("m", 1, {"x": 5})], {"skills": {"x": 1}}, {"x": 3})
    result = next_module(catalog, "e")
    assert result.option is not None and result.option.closed == 2.0  # (3 - 1) * 1.0, not 4


def test_module_that_teaches_below_the_current_level_does_not_qualify() -> None:
    catalog = make({"x": "other"}, [mod("m", 1, {"x": 2})], {"skills": {"x": 3}}, {"x": 4})
    result = next_module(catalog, "e")
    assert result.option is None and result.status == "no-module"
    assert "x" in result.reason


def test_no_gaps_says_so(small: Catalog) -> None:
    result = next_module(small, "done")
    assert result.option is None and result.status == "no-gaps"
    assert "no gaps" in result.reason
    assert result.to_dict()["module"] is None


def test_blocked_names_the_missing_prerequisite(small: Catalog) -> None:
    # blocked: only serve is short; m-serve needs m-opt, which closes nothing for them.
    result = next_module(small, "blocked")
    assert result.option is None and result.status == "blocked"
    assert "m-serve" in result.reason and "m-opt" in result.reason
    assert result.blocked[0].missing == ("m-opt",)


def test_unknown_employee_is_refused(small: Catalog) -> None:
    with pytest.raises(UnknownIdError, match="unknown employee 'ghost'"):
        next_module(small, "ghost")


def test_next_json_has_the_issue_fields(small: Catalog) -> None:
    data = next_module(small, "alice").to_dict()
    assert list(data)[:4] == ["employee", "module", "reason", "alternatives"]
    assert data["module"]["id"] == "m-opt"


# -- completion feedback ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "module_level", "score", "expected"),
    [
        (1, 4, 1.0, 4),
        (1, 4, 0.0, 1),
        (1, 4, 0.5, 3),  # 2.5 rounds half up
        (0, 3, 0.5, 2),  # 1.5 rounds half up
        (2, 5, 0.2, 3),  # 2.6 -> 3
        (4, 2, 1.0, 4),  # never lowers a level
    ],
)
def test_completed_level_formula(
    current: int, module_level: int, score: float, expected: int
) -> None:
    assert completed_level(current, module_level, score) == expected


def test_completing_the_recommended_module_changes_the_next_answer(tmp_path: Path) -> None:
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, CATALOGS / "small")
        before = next_module(current_catalog(store), "alice")
        assert before.option is not None and before.option.module.id == "m-opt"
        result = record_completion(store, current_catalog(store), "alice", "m-opt", score=1.0)
        assert [(c.skill, c.before, c.after) for c in result.changes] == [("opt", 1, 3)]
        catalog = current_catalog(store)
        after = next_module(catalog, "alice")
        assert after.option is not None and after.option.module.id != "m-opt"
        # opt is closed, and m-serve (which needs m-opt) is now unlocked
        assert employee_gaps(catalog, "alice").gaps[0].skill == "clean"
        offered = {after.option.module.id, *(a.module.id for a in after.alternatives)}
        assert "m-serve" in offered


def test_partial_score_raises_levels_partially(tmp_path: Path) -> None:
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, CATALOGS / "small")
        record_completion(store, current_catalog(store), "alice", "m-opt", score=0.5)
        assert current_catalog(store).employee("alice").level("opt") == 2  # 1 + 2*0.5


@pytest.mark.parametrize("score", [-0.1, 1.01, float("nan")])
def test_score_outside_0_1_is_refused_and_nothing_written(tmp_path: Path, score: float) -> None:
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, CATALOGS / "small")
        with pytest.raises(InvalidValueError):
            record_completion(store, current_catalog(store), "alice", "m-opt", score=score)
        assert store.events() == []


# -- team --------------------------------------------------------------------------------------


def test_team_report_aggregates_and_names_who(small: Catalog) -> None:
    report = team_report(small, "core")
    by_skill = {s.skill: s for s in report.skills}
    # opt gaps: alice 2, newbie 3, picky 3 (personal 4) -> 8 * 1.5
    assert by_skill["opt"].weighted_gap == 12.0
    assert set(by_skill["opt"].members_with_gap) == {"alice", "newbie", "picky"}
    assert report.skills[0].skill == "opt"
    top = report.modules[0]
    assert top.module.id == "m-opt"
    assert {x.employee for x in top.ready} == {"alice", "newbie", "picky"}
    later = {x.employee for m in report.modules for x in m.later}
    assert "blocked" in later  # m-serve for blocked, after m-opt


def test_unknown_team_is_refused(small: Catalog) -> None:
    with pytest.raises(UnknownIdError, match="unknown team"):
        team_report(small, "nobody")


# -- recommend without a knowledge base: modules, signals, who to ask ------------------------


def test_newcomer_gets_content_only_and_modules_with_reasons(small: Catalog) -> None:
    result = recommend(small, "newbie", None)
    assert "content only" in result.signals and "newcomer" in result.signals
    assert result.modules[0].option.module.id == "m-opt"
    assert all(m.reason for m in result.modules)
    assert "materials skipped" in result.notes[0]


def test_colleagues_with_history_shape_module_ranking(small: Catalog) -> None:
    # alice has history once she rated something; dana (no gaps) is similar and took m-clean.
    done = replace(small.employees["done"], completed=(Completion("m-clean"),))
    alice = replace(small.employees["alice"], ratings={"doc": 4})
    catalog = replace(small, employees={**small.employees, "done": done, "alice": alice})
    result = recommend(catalog, "alice", None)
    assert "collaborative" in result.signals
    clean = next(m for m in result.modules if m.option.module.id == "m-clean")
    assert "Dana Done" in clean.taken_by and "profiles like yours" in clean.reason
    assert clean.support > 0


def test_who_to_ask_is_strong_and_on_another_team(small: Catalog) -> None:
    strong = replace(small.employees["bob"], skills={"opt": 5, "serve": 1})
    catalog = replace(small, employees={**small.employees, "bob": strong})
    result = recommend(catalog, "alice", None)
    assert [c.employee for c in result.colleagues] == ["bob"]  # same-team people never listed
    assert "opt at level 5" in result.colleagues[0].reason
    assert recommend(small, "alice", None).colleagues == ()  # bob at opt 1 is no expert
