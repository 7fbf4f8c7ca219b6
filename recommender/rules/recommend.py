"""`kb recommend`: modules, materials and people for one employee, each with its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kb.errors import KBError
from recommender.catalog.types import Catalog
from recommender.rules.collaborative import module_support, similar_colleagues
from recommender.rules.colleagues import Colleague, who_to_ask
from recommender.rules.gaps import SkillGap, skill_gaps
from recommender.rules.materials import MaterialItem, MaterialSource, recommend_materials
from recommender.rules.next_module import ModuleOption, next_module, rank_modules

MODULES_SHOWN = 3
COLLAB_BOOST = 0.25  # at most +25% gain per hour when all similar colleagues took a module


@dataclass(frozen=True)
class RecommendedModule:
    option: ModuleOption
    support: float
    taken_by: tuple[str, ...]

    @property
    def reason(self) -> str:
        reason = self.option.reason
        if self.taken_by:
            reason += (
                f"; colleagues with profiles like yours took it ({', '.join(self.taken_by[:3])})"
            )
        return reason

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.option.to_dict(),
            "collaborative_support": round(self.support, 4),
            "taken_by_similar_colleagues": list(self.taken_by),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Recommendation:
    employee: str
    name: str
    team: str
    gaps: tuple[SkillGap, ...]
    modules: tuple[RecommendedModule, ...]
    materials: tuple[MaterialItem, ...]
    colleagues: tuple[Colleague, ...]
    signals: str  # "collaborative + content" or "content only (...)"
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "name": self.name,
            "team": self.team,
            "signals": self.signals,
            "gaps": [asdict(g) for g in self.gaps],
            "modules": [m.to_dict() for m in self.modules],
            "materials": [asdict(m) for m in self.materials],
            "colleagues": [c.to_dict() for c in self.colleagues],
            "notes": list(self.notes),
        }


def recommend(
    catalog: Catalog, employee_id: str, source: MaterialSource | None, k: int = 10
) -> Recommendation:
    """Everything to suggest to one employee; `source=None` skips the knowledge base."""
    employee = catalog.employee(employee_id)
    gaps = [g for g in skill_gaps(catalog, employee) if g.gap > 0]
    neighbours = similar_colleagues(catalog, employee)
    if neighbours:
        signals = "collaborative + content: " + ", ".join(n.employee.name for n in neighbours)
    elif employee.has_history:
        signals = "content only: no colleague has history to compare with yet"
    else:
        signals = "content only: no history yet (newcomer)"
    notes: list[str] = []

    options, _ = rank_modules(catalog, employee)
    modules = []
    for option in options:
        support, who = module_support(neighbours, option.module.id)
        modules.append(RecommendedModule(option, support, tuple(who)))
    modules.sort(
        key=lambda m: (-m.option.per_hour * (1 + COLLAB_BOOST * m.support), m.option.module.order)
    )
    if not modules:
        notes.append(next_module(catalog, employee_id).reason)

    materials: list[MaterialItem] = []
    if source is None:
        notes.append("materials skipped: no knowledge base available")
    elif gaps:
        try:
            materials = recommend_materials(catalog, employee, gaps, source, k, neighbours)
        except KBError as exc:  # the kb's own errors (e.g. an empty store) become a note
            notes.append(f"materials unavailable: {exc}")
    authors: dict[str, list[str]] = {}
    for item in materials:
        if item.author and item.title not in authors.get(item.author, []):
            authors.setdefault(item.author, []).append(item.title)
    colleagues = who_to_ask(catalog, employee, gaps, authors)
    return Recommendation(
        employee=employee.id,
        name=employee.name,
        team=employee.team,
        gaps=tuple(gaps),
        modules=tuple(modules[:MODULES_SHOWN]),
        materials=tuple(materials),
        colleagues=tuple(colleagues),
        signals=signals,
        notes=tuple(notes),
    )
