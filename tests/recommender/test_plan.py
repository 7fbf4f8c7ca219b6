"""`kb plan`: exact search beats greedy where greedy is wrong, and matches a brute-force oracle."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from recommender import Catalog, InvalidValueError, build_catalog, greedy_plan, plan_modules


def make(
    skills: dict[str, str],
    modules: list[dict[str, Any]],
    targets: dict[str, int],
    levels: dict[str, int] | None = None,
    completed: list[str] | None = None,
) -> Catalog:
    return build_catalog(
        {
            "skills": [{"id": s, "name": s, "category": c} for s, c in skills.items()],
            "teams": [{"id": "t", "name": "T", "targets": targets}],
            "courses": [{"id": "c", "title": "C", "team": "t", "modules": modules}],
            "employees": [
                {
                    "id": "e",
                    "name": "E",
                    "team": "t",
                    "skills": levels or {},
                    "completed": [{"module": m} for m in completed or []],
                }
            ],
        }
    )


def mod(ident: str, hours: float, skills: dict[str, int], *prereqs: str) -> dict[str, Any]:
    return {
        "id": ident,
        "title": ident,
        "format": "hands-on",
        "hours": hours,
        "skills": skills,
        "prerequisites": list(prereqs),
    }


def test_exact_beats_greedy_on_a_knapsack_trap() -> None:
    # quick: 1.0 in 1 h (best ratio) but leaves no room for big: 2.7 in 3 h. Budget 3 h.
    catalog = make(
        {"a": "data cleaning", "b": "other"},
        [mod("quick", 1, {"a": 1}), mod("big", 3, {"b": 5}), mod("pad", 3, {"b": 1})],
        {"a": 1, "b": 5},
        levels={"b": 0},
    )
    catalog_b_weight = catalog.weight("b")
    assert catalog_b_weight == 0.5
    greedy = greedy_plan(catalog, "e", 3)
    exact = plan_modules(catalog, "e", 3)
    assert greedy.module_ids == ["quick"] and greedy.gap_closed == 1.0
    assert exact.module_ids == ["big"] and exact.gap_closed == 2.5
    assert exact.total_hours <= 3


def test_exact_takes_a_prerequisite_that_closes_nothing_itself() -> None:
    catalog = make(
        {"x": "model optimisation", "y": "other"},
        [mod("gate", 2, {"y": 1}), mod("prize", 3, {"x": 4}, "gate"), mod("side", 1, {"y": 2})],
        {"x": 4, "y": 1},
        levels={"y": 1},
    )
    greedy = greedy_plan(catalog, "e", 5)
    exact = plan_modules(catalog, "e", 5)
    assert greedy.module_ids == [] and greedy.gap_closed == 0
    assert exact.module_ids == ["gate", "prize"]  # prerequisite first
    assert exact.gap_closed == 6.0 and exact.total_hours == 5
    assert "prerequisite of prize" in exact.steps[0].reason


def test_a_module_whose_prerequisite_is_missing_is_not_planned() -> None:
    catalog = make(
        {"x": "model optimisation"},
        [mod("gate", 4, {"x": 1}), mod("prize", 1, {"x": 4}, "gate")],
        {"x": 4},
        levels={"x": 1},
    )
    plan = plan_modules(catalog, "e", 3)  # gate does not fit, so prize cannot be in the plan
    assert plan.module_ids == []
    assert "nothing fits" in plan.reason


def test_closing_the_same_skill_twice_counts_once() -> None:
    # two modules both take x from 0 to 3: together they close 3, not 6.
    catalog = make(
        {"x": "data cleaning", "y": "other"},
        [mod("x1", 1, {"x": 3}), mod("x2", 1, {"x": 3}), mod("y1", 2, {"y": 2})],
        {"x": 3, "y": 2},
    )
    plan = plan_modules(catalog, "e", 3)
    assert sorted(plan.module_ids) == ["x1", "y1"]
    assert plan.gap_closed == 4.0
    # levels rise along the plan: a later module on x is worth only what it adds
    stepped = plan_modules(catalog, "e", 2)
    assert stepped.module_ids == ["x1"] and stepped.gap_closed == 3.0


def test_plan_json_has_totals_and_ordered_modules() -> None:
    catalog = make({"x": "other"}, [mod("a", 1, {"x": 2}), mod("b", 1, {"x": 4}, "a")], {"x": 4})
    data = plan_modules(catalog, "e", 5).to_dict()
    assert [m["id"] for m in data["modules"]] == ["a", "b"]
    assert data["total_hours"] == 2 and data["gap_closed"] == 2.0
    assert data["modules"][1]["cumulative_hours"] == 2


def test_hours_must_be_positive() -> None:
    catalog = make({"x": "other"}, [mod("a", 1, {"x": 2})], {"x": 2})
    with pytest.raises(InvalidValueError):
        plan_modules(catalog, "e", 0)


def _value(catalog: Catalog, chosen: set[str]) -> float:
    """Oracle's own arithmetic: final level per skill after the set, gap closed vs the target."""
    employee = catalog.employee("e")
    total = 0.0
    for skill, target in catalog.teams["t"].targets.items():
        current = employee.level(skill)
        best = max([current, *(catalog.modules[m].skills.get(skill, 0) for m in chosen)])
        total += max(0, min(best, target) - current) * catalog.weight(skill)
    return total


def _brute_force(catalog: Catalog, hours: float) -> float:
    done = catalog.employee("e").completed_modules
    ids = [m for m in catalog.modules if m not in done]
    best = 0.0
    for r in range(len(ids) + 1):
        for subset in itertools.combinations(ids, r):
            chosen = set(subset)
            if sum(catalog.modules[m].hours for m in chosen) > hours:
                continue
            if any(
                p not in chosen and p not in done
                for m in chosen
                for p in catalog.modules[m].prerequisites
            ):
                continue
            best = max(best, _value(catalog, chosen))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_exact_plan_matches_a_brute_force_oracle(seed: int) -> None:
    rng = random.Random(seed)
    categories = ["model optimisation", "data cleaning", "other"]
    skills = {f"s{i}": rng.choice(categories) for i in range(4)}
    modules = []
    for i in range(8):
        taught = rng.sample(sorted(skills), rng.randint(1, 2))
        prereqs = rng.sample([f"m{j}" for j in range(i)], min(i, rng.choice([0, 0, 1, 2])))
        modules.append(
            mod(f"m{i}", rng.choice([1, 2, 3, 4]), {s: rng.randint(1, 5) for s in taught}, *prereqs)
        )
    targets = {s: rng.randint(2, 5) for s in skills}
    levels = {s: rng.randint(0, 2) for s in skills}
    completed = ["m0"] if seed % 3 == 0 else []
    catalog = make(skills, modules, targets, levels, completed)
    hours = rng.choice([3, 5, 8, 12])

    plan = plan_modules(catalog, "e", hours)

    assert plan.gap_closed == pytest.approx(_brute_force(catalog, hours))
    assert plan.gap_closed == pytest.approx(_value(catalog, set(plan.module_ids)))
    assert plan.total_hours <= hours
    seen = set(catalog.employee("e").completed_modules)
    for module_id in plan.module_ids:  # prerequisites before dependants
        assert set(catalog.modules[module_id].prerequisites) <= seen
        seen.add(module_id)
    assert plan.gap_closed >= greedy_plan(catalog, "e", hours).gap_closed - 1e-9
