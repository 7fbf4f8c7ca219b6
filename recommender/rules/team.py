"""`kb team`: for organisers, where a team's gaps are and which training closes most of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recommender.catalog.types import Catalog, Module
from recommender.rules.gaps import gap_closed, module_gains, skill_gaps, targets_of

MODULES_SHOWN = 5


@dataclass(frozen=True)
class TeamSkillGap:
    """One skill's gap summed over a team's members; weighted_gap = total_gap * weight."""

    skill: str
    name: str
    weight: float
    members_with_gap: tuple[str, ...]
    total_gap: int
    weighted_gap: float


@dataclass(frozen=True)
class Learner:
    employee: str
    name: str
    gap_closed: float
    missing_prerequisites: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "employee": self.employee,
            "name": self.name,
            "gap_closed": self.gap_closed,
        }
        if self.missing_prerequisites:
            out["missing_prerequisites"] = list(self.missing_prerequisites)
        return out


@dataclass(frozen=True)
class TeamModule:
    module: Module
    ready: tuple[Learner, ...]  # can take it now
    later: tuple[Learner, ...]  # would gain, once their missing prerequisites are done

    @property
    def gap_closed(self) -> float:
        return sum(learner.gap_closed for learner in self.ready)

    @property
    def reason(self) -> str:
        text = (
            f"closes weighted gap {self.gap_closed:g} across {len(self.ready)} member(s) ready "
            f"now ({', '.join(learner.name for learner in self.ready)})"
        )
        if self.later:
            text += f"; {len(self.later)} more after prerequisites"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.module.to_dict(),
            "gap_closed": self.gap_closed,
            "gap_closed_later": sum(learner.gap_closed for learner in self.later),
            "for": [learner.to_dict() for learner in self.ready],
            "after_prerequisites": [learner.to_dict() for learner in self.later],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TeamReport:
    team: str
    name: str
    members: tuple[str, ...]
    skills: tuple[TeamSkillGap, ...]
    modules: tuple[TeamModule, ...]

    @property
    def total_weighted_gap(self) -> float:
        return sum(s.weighted_gap for s in self.skills)

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "name": self.name,
            "members": list(self.members),
            "total_weighted_gap": self.total_weighted_gap,
            "skills": [asdict(s) for s in self.skills],
            "modules": [m.to_dict() for m in self.modules],
        }


def team_report(catalog: Catalog, team_id: str, top: int = MODULES_SHOWN) -> TeamReport:
    """Aggregated weighted gaps per skill, and the modules closing most gap for members now."""
    team = catalog.team(team_id)
    members = catalog.members(team.id)
    totals: dict[str, list[tuple[str, int]]] = {}
    for member in members:
        for gap in skill_gaps(catalog, member):
            if gap.gap > 0:
                totals.setdefault(gap.skill, []).append((member.id, gap.gap))
    skills = [
        TeamSkillGap(
            skill=skill,
            name=catalog.skills[skill].name,
            weight=catalog.weight(skill),
            members_with_gap=tuple(m for m, _ in rows),
            total_gap=sum(g for _, g in rows),
            weighted_gap=sum(g for _, g in rows) * catalog.weight(skill),
        )
        for skill, rows in totals.items()
    ]
    order = {s: i for i, s in enumerate(catalog.skills)}
    skills.sort(key=lambda s: (-s.weighted_gap, order[s.skill]))

    modules = []
    for module in catalog.modules.values():
        ready: list[Learner] = []
        later: list[Learner] = []
        for member in members:
            if module.id in member.completed_modules:
                continue
            gains = module_gains(catalog, module, member.skills, targets_of(catalog, member))
            if not gains:
                continue
            missing = tuple(p for p in module.prerequisites if p not in member.completed_modules)
            learner = Learner(member.id, member.name, gap_closed(gains), missing)
            (later if missing else ready).append(learner)
        if ready or later:
            ready.sort(key=lambda x: -x.gap_closed)
            modules.append(TeamModule(module, tuple(ready), tuple(later)))
    modules.sort(
        key=lambda m: (
            -m.gap_closed,
            -sum(x.gap_closed for x in m.later),
            m.module.order,
        )
    )
    return TeamReport(
        team=team.id,
        name=team.name,
        members=tuple(m.id for m in members),
        skills=tuple(skills),
        modules=tuple(modules[:top]),
    )
