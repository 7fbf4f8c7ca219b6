"""Synthetic cohorts with planted effects, shared by tests/recommender/test_evaluation.py and
bench/evaluation.py (which imports this module).

`cohort(seed)`: a catalogue (raw, as the YAML files hold it) whose three modules all teach
feature engineering to level 5; three cycles, one per module, each with `per_cycle`
participants measured before and after. Only `fe-planted` truly raises the skill, by 1 level;
the other two by 0. Measured level = true level + N(0, noise), as a share of the 5 levels the
assessment spans, clipped to 0..1. `fe-planted` is the longest module and last in catalogue
order, so without evidence `kb next` prefers the others.

`kpi_panel(seed, shift)`: weekly KPI values of 12 teams (6 took part in a cycle) for 13 weeks
before and after it, each team its own level, every team the same drift after, and `shift`
added to the participating teams' values after the cycle.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from recommender.state.events import Event

PLANTED = "fe-planted"
MODULES = ("fe-short", "fe-lab", PLANTED)
SKILL = "feature-engineering"
TEAMS = ("support-ai", "data", "platform")
CREATED = "2024-07-01T00:00:00+00:00"


def _employee(ident: str, team: str, level: int) -> dict[str, Any]:
    return {
        "id": ident,
        "name": ident.replace("-", " ").title(),
        "team": team,
        "skills": {SKILL: level},
    }


def cohort(
    seed: int, per_cycle: int = 14, effect: float = 1.0, noise: float = 0.5
) -> tuple[dict[str, Any], list[Event]]:
    """(raw catalogue, assessment events) of one seeded cohort (see the module)."""
    rng = random.Random(seed)
    hours = {"fe-short": 3, "fe-lab": 4, PLANTED: 6}
    raw: dict[str, Any] = {
        "skills": [
            {"id": SKILL, "name": "Feature engineering", "category": "data preprocessing"},
        ],
        "teams": [{"id": t, "name": t, "targets": {SKILL: 5}} for t in TEAMS],
        "courses": [
            {
                "id": "fe",
                "title": "Feature engineering",
                "team": "data",
                "modules": [
                    {
                        "id": m,
                        "title": m,
                        "format": "hands-on",
                        "hours": hours[m],
                        "skills": {SKILL: 5},
                        "prerequisites": [],
                    }
                    for m in MODULES
                ],
            }
        ],
        "employees": [_employee("trainer", "data", 5), _employee("newcomer", "support-ai", 1)],
        "cycles": [],
    }
    events: list[Event] = []
    for index, module in enumerate(MODULES):
        cycle_id = f"cycle-{module}"
        people = []
        for n in range(per_cycle):
            ident = f"{module}-p{n}"
            level = rng.choice((1, 2))
            raw["employees"].append(_employee(ident, TEAMS[n % len(TEAMS)], level))
            people.append(ident)
            gain = effect if module == PLANTED else 0.0
            for phase, true in (("pre", level), ("post", level + gain)):
                measured = min(5.0, max(0.0, true + rng.gauss(0.0, noise)))
                events.append(
                    Event(
                        kind="assessment",
                        employee=ident,
                        cycle=cycle_id,
                        score=round(measured / 5, 6),
                        details={
                            "phase": phase,
                            "skill": SKILL,
                            "points": measured,
                            "max_points": 5,
                        },
                        created_at=CREATED,
                    )
                )
        raw["cycles"].append(
            {
                "id": cycle_id,
                "title": cycle_id,
                "modules": [module],
                "start": f"2024-0{index + 1}-01",
                "end": f"2024-0{index + 1}-05",
                "trainers": ["trainer"],
                "participants": people,
            }
        )
    return raw, events


KPI_TEAMS = tuple(f"team-{i:02d}" for i in range(12))
KPI_TAKING = KPI_TEAMS[:6]
KPI_START, KPI_END = "2024-06-03", "2024-06-14"


def kpi_catalog() -> dict[str, Any]:
    """A catalogue of the 12 KPI teams, with one cycle taken by the first 6."""
    employees = [_employee(f"e-{t}", t, 1) for t in KPI_TEAMS]
    employees.append(_employee("kpi-trainer", KPI_TEAMS[-1], 5))
    return {
        "skills": [{"id": SKILL, "name": "Feature engineering", "category": "data preprocessing"}],
        "teams": [{"id": t, "name": t, "targets": {SKILL: 3}} for t in KPI_TEAMS],
        "courses": [
            {
                "id": "fe",
                "title": "Feature engineering",
                "team": KPI_TEAMS[0],
                "modules": [
                    {
                        "id": "fe-1",
                        "title": "fe",
                        "format": "lecture",
                        "hours": 2,
                        "skills": {SKILL: 3},
                    }
                ],
            }
        ],
        "employees": employees,
        "cycles": [
            {
                "id": "kpi-cycle",
                "title": "KPI cycle",
                "modules": ["fe-1"],
                "start": KPI_START,
                "end": KPI_END,
                "trainers": ["kpi-trainer"],
                "participants": [f"e-{t}" for t in KPI_TAKING],
            }
        ],
    }


def kpi_rows(seed: int, shift: float, noise: float = 3.0) -> list[tuple[str, str, str, float]]:
    """(team, metric, date, value) rows of the panel (see the module)."""
    rng = random.Random(seed)
    start = dt.date.fromisoformat(KPI_START)
    end = dt.date.fromisoformat(KPI_END)
    rows = []
    for team in KPI_TEAMS:
        base = rng.gauss(60.0, 8.0)
        for week in range(1, 14):
            before = start - dt.timedelta(days=7 * week)
            rows.append(
                (team, "tickets-solved", before.isoformat(), round(base + rng.gauss(0, noise), 3))
            )
            after = end + dt.timedelta(days=7 * week)
            lift = 2.0 + (shift if team in KPI_TAKING else 0.0)
            rows.append(
                (
                    team,
                    "tickets-solved",
                    after.isoformat(),
                    round(base + lift + rng.gauss(0, noise), 3),
                )
            )
    return rows


def kpi_csv(rows: list[tuple[str, str, str, float]]) -> bytes:
    lines = ["team,metric,date,value"] + [f"{t},{m},{d},{v}" for t, m, d, v in rows]
    return ("\n".join(lines) + "\n").encode()


def kpi_events(rows: list[tuple[str, str, str, float]]) -> list[Event]:
    return [
        Event(
            kind="kpi",
            employee="",
            score=v,
            details={"team": t, "metric": m, "date": d},
            created_at=CREATED,
        )
        for t, m, d, v in rows
    ]
