"""'Who to ask': colleagues on other teams who are strong where the employee has gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recommender.catalog.types import Catalog, Employee
from recommender.rules.gaps import SkillGap

STRONG_LEVEL = 3  # below this nobody is an expert to ask, whatever the target


@dataclass(frozen=True)
class Colleague:
    employee: str
    name: str
    team: str
    strengths: tuple[tuple[str, int], ...]  # (skill id, their level), gap skills only
    authored: tuple[str, ...]  # titles of recommended materials they wrote
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "name": self.name,
            "team": self.team,
            "strengths": [{"skill": s, "level": lvl} for s, lvl in self.strengths],
            "authored": list(self.authored),
            "score": self.score,
            "reason": self.reason,
        }


def who_to_ask(
    catalog: Catalog,
    employee: Employee,
    gaps: Sequence[SkillGap],
    authors: dict[str, list[str]] | None = None,
    n: int = 3,
) -> list[Colleague]:
    """Other-team colleagues at or above the employee's target (and at least level 3) in gap
    skills, ranked by the weighted levels they are ahead; authors of suggested materials noted."""
    open_gaps = [g for g in gaps if g.gap > 0]
    authors = authors or {}
    out = []
    for other in catalog.employees.values():
        if other.team == employee.team or other.id == employee.id:
            continue
        strong = [g for g in open_gaps if other.level(g.skill) >= max(g.target, STRONG_LEVEL)]
        if not strong:
            continue
        score = sum((other.level(g.skill) - g.current) * g.weight for g in strong)
        wrote = tuple(authors.get(other.name, []))
        team = catalog.teams[other.team].name
        shown = sorted(strong, key=lambda g: -(other.level(g.skill) - g.current) * g.weight)
        skills = ", ".join(
            f"{g.skill} at level {other.level(g.skill)} (you: {g.current}, target {g.target})"
            for g in shown[:3]
        )
        if len(shown) > 3:
            skills += f" and {len(shown) - 3} more"
        reason = f"{team}: {skills}"
        if wrote:
            reason += f"; wrote {', '.join(repr(t) for t in wrote)}"
        out.append(
            Colleague(
                employee=other.id,
                name=other.name,
                team=other.team,
                strengths=tuple((g.skill, other.level(g.skill)) for g in strong),
                authored=wrote,
                score=score,
                reason=reason,
            )
        )
    out.sort(key=lambda c: (-c.score, -len(c.authored), c.name))
    return out[:n]
