"""Skill gaps and the gap a module closes: the arithmetic every answer is ranked by.

gap = max(0, target - current); a module closes max(0, min(module level, target) - current)
of it, and both are multiplied by the skill's weight so that the programme's priorities count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recommender.catalog.types import Catalog, Employee, Module


@dataclass(frozen=True)
class SkillGap:
    """One targeted skill of one learner. `gap` = max(0, target - current) and `weighted_gap`
    = gap * weight are fields (built by `SkillGap.of`), so that they are part of the shape
    that the CLI and HTTP print."""

    skill: str
    name: str
    current: int
    target: int
    target_source: str  # "personal" or "team"
    gap: int
    weight: float
    weighted_gap: float

    @classmethod
    def of(
        cls, skill: str, name: str, current: int, target: int, target_source: str, weight: float
    ) -> SkillGap:
        gap = max(0, target - current)
        return cls(skill, name, current, target, target_source, gap, weight, gap * weight)


@dataclass(frozen=True)
class GapReport:
    """`kb gaps`: every targeted skill, largest weighted gap first, and their total."""

    employee: str
    name: str
    team: str
    total_weighted_gap: float
    gaps: tuple[SkillGap, ...]

    @classmethod
    def of(cls, employee: str, name: str, team: str, gaps: tuple[SkillGap, ...]) -> GapReport:
        return cls(employee, name, team, sum(g.weighted_gap for g in gaps), gaps)

    @property
    def open_gaps(self) -> tuple[SkillGap, ...]:
        return tuple(g for g in self.gaps if g.gap > 0)


def targets_of(catalog: Catalog, employee: Employee) -> dict[str, tuple[int, str]]:
    """Every skill with a target for this employee: personal targets override the team's."""
    out: dict[str, tuple[int, str]] = {}
    for skill in catalog.skills:
        target = catalog.target(employee, skill)
        if target is not None:
            out[skill] = target
    return out


def skill_gaps(catalog: Catalog, employee: Employee) -> list[SkillGap]:
    """One row per targeted skill, largest weighted gap first (then gap, then catalogue order)."""
    order = {skill: i for i, skill in enumerate(catalog.skills)}
    rows = [
        SkillGap.of(
            skill=skill,
            name=catalog.skills[skill].name,
            current=employee.level(skill),
            target=target,
            target_source=source,
            weight=catalog.weight(skill),
        )
        for skill, (target, source) in targets_of(catalog, employee).items()
    ]
    rows.sort(key=lambda g: (-g.weighted_gap, -g.gap, order[g.skill]))
    return rows


def employee_gaps(catalog: Catalog, employee_id: str) -> GapReport:
    """`kb gaps EMPLOYEE`."""
    employee = catalog.employee(employee_id)
    return GapReport.of(
        employee=employee.id,
        name=employee.name,
        team=employee.team,
        gaps=tuple(skill_gaps(catalog, employee)),
    )


@dataclass(frozen=True)
class SkillGain:
    """What one module does for one skill of one learner."""

    skill: str
    current: int
    reaches: int  # min(module level, target): the part of the module that counts
    target: int
    weight: float

    @property
    def closed(self) -> float:
        return max(0, self.reaches - self.current) * self.weight

    def to_dict(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "from": self.current,
            "to": self.reaches,
            "target": self.target,
            "weight": self.weight,
            "gap_closed": self.closed,
        }

    def describe(self) -> str:
        return f"{self.skill} {self.current}->{self.reaches} of {self.target} (x{self.weight:g})"


def module_gains(
    catalog: Catalog,
    module: Module,
    levels: Mapping[str, int],
    targets: Mapping[str, tuple[int, str]],
) -> list[SkillGain]:
    """The skills in which `module` closes a positive gap, given current levels and targets."""
    gains = []
    for skill, module_level in module.skills.items():
        if skill not in targets:
            continue
        target = targets[skill][0]
        current = levels.get(skill, 0)
        reaches = min(module_level, target)
        if reaches > current:
            gains.append(SkillGain(skill, current, reaches, target, catalog.weight(skill)))
    gains.sort(key=lambda g: -g.closed)
    return gains


def gap_closed(gains: list[SkillGain]) -> float:
    return sum(g.closed for g in gains)
