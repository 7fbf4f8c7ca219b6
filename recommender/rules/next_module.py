"""`kb next`: the one module to take now, why, and what else would do.

Eligible: not completed, every prerequisite completed, closes a positive gap. Ranked by weighted
gap closed per hour of training, catalogue order breaking ties, so the answer is stable.

Given the gains modules proved in cycles (`recommender.rules.proven.GainEvidence`), modules
that proved a gain in a skill the learner lacks, for colleagues of their team (or everyone
when their team has no strong evidence), come first, and modules measured near zero in every
such skill last; the reason says which evidence moved it. Evidence below the threshold
(`proven.EvidenceRule`) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from recommender.catalog.types import Catalog, Employee, Module
from recommender.rules.gaps import SkillGain, gap_closed, module_gains, skill_gaps, targets_of
from recommender.rules.proven import (
    TIER_ORDER,
    GainEvidence,
    ModuleGain,
    Tier,
    evidence_text,
    module_evidence,
)

NextStatus = Literal["ok", "no-gaps", "blocked", "no-module"]


@dataclass(frozen=True)
class ModuleOption:
    """An eligible module with the gap it would close for one learner."""

    module: Module
    gains: tuple[SkillGain, ...]
    prerequisites_met: tuple[str, ...]
    tier: Tier = "unmeasured"
    proven: tuple[ModuleGain, ...] = ()
    evidence: str = ""  # the reason's clause on the evidence ("proved: raised ...")

    @property
    def closed(self) -> float:
        return gap_closed(list(self.gains))

    @property
    def per_hour(self) -> float:
        return self.closed / self.module.hours

    @property
    def reason(self) -> str:
        closes = ", ".join(g.describe() for g in self.gains)
        prereq = (
            "prerequisites met: " + ", ".join(f"{p} (completed)" for p in self.prerequisites_met)
            if self.prerequisites_met
            else "no prerequisites"
        )
        return (
            f"closes weighted gap {self.closed:g} in {self.module.hours:g} h "
            f"({self.per_hour:.2f}/h): {closes}; {prereq}"
            + (f"; {self.evidence}" if self.evidence else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.module.to_dict(),
            "gap_closed": self.closed,
            "gap_closed_per_hour": round(self.per_hour, 4),
            "closes": [g.to_dict() for g in self.gains],
            "prerequisites_met": list(self.prerequisites_met),
            "reason": self.reason,
            "evidence": self.tier,
            "proven_gains": [g.to_dict() for g in self.proven],
        }


@dataclass(frozen=True)
class BlockedModule:
    """A module that would close a gap but waits for prerequisites not yet completed."""

    module: Module
    missing: tuple[str, ...]
    gains: tuple[SkillGain, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.module.id,
            "title": self.module.title,
            "missing_prerequisites": list(self.missing),
            "would_close": [g.to_dict() for g in self.gains],
        }

    def describe(self) -> str:
        return f"{self.module.id} needs {', '.join(self.missing)} (not completed)"


@dataclass(frozen=True)
class NextModuleResult:
    employee: str
    status: NextStatus
    option: ModuleOption | None
    reason: str
    alternatives: tuple[ModuleOption, ...]
    blocked: tuple[BlockedModule, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "module": None if self.option is None else self.option.to_dict(),
            "reason": self.reason,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "status": self.status,
            "blocked": [b.to_dict() for b in self.blocked],
        }


def rank_modules(
    catalog: Catalog, employee: Employee, evidence: GainEvidence | None = None
) -> tuple[list[ModuleOption], list[BlockedModule]]:
    """Eligible modules best first, and the gap-closing modules blocked by prerequisites;
    with `evidence`, proven modules first and near-zero ones last (see the module)."""
    targets = targets_of(catalog, employee)
    done = employee.completed_modules
    options: list[ModuleOption] = []
    blocked: list[BlockedModule] = []
    for module in catalog.modules.values():
        if module.id in done:
            continue
        gains = tuple(module_gains(catalog, module, employee.skills, targets))
        if not gains:
            continue
        missing = tuple(p for p in module.prerequisites if p not in done)
        if missing:
            blocked.append(BlockedModule(module, missing, gains))
        else:
            tier: Tier = "unmeasured"
            proven: tuple[ModuleGain, ...] = ()
            if evidence is not None:
                tier, proven = module_evidence(
                    evidence, module.id, [g.skill for g in gains], employee.team
                )
            options.append(
                ModuleOption(
                    module,
                    gains,
                    module.prerequisites,
                    tier,
                    proven,
                    evidence_text(catalog, tier, proven),
                )
            )
    options.sort(key=lambda o: (TIER_ORDER[o.tier], -round(o.per_hour, 9), o.module.order))
    return options, blocked


def next_module(
    catalog: Catalog,
    employee_id: str,
    alternatives: int = 3,
    evidence: GainEvidence | None = None,
) -> NextModuleResult:
    """`kb next EMPLOYEE`: the best eligible module, or why there is none; `evidence`: the
    gains modules proved in cycles (`proven.measure_gains`), which reorder the options."""
    employee = catalog.employee(employee_id)
    options, blocked = rank_modules(catalog, employee, evidence)
    if options:
        best = options[0]
        return NextModuleResult(
            employee.id,
            "ok",
            best,
            f"{best.module.id} {best.reason}",
            tuple(options[1 : 1 + alternatives]),
            tuple(blocked),
        )
    open_gaps = [g for g in skill_gaps(catalog, employee) if g.gap > 0]
    if not open_gaps:
        reason = "no gaps left: every targeted skill is at or above its target"
        return NextModuleResult(employee.id, "no-gaps", None, reason, (), ())
    served = {g.skill for b in blocked for g in b.gains}
    unserved = [g.skill for g in open_gaps if g.skill not in served]
    parts = []
    status: NextStatus = "no-module"
    if blocked:
        status = "blocked"
        missing = sorted(
            {p for b in blocked for p in b.missing}, key=lambda m: catalog.modules[m].order
        )
        parts.append(
            "every module that closes a gap is blocked by a missing prerequisite: "
            + "; ".join(b.describe() for b in blocked)
            + f". Complete {', '.join(missing)} first (see `kb plan`)"
        )
    if unserved:
        parts.append(
            "no module left in the catalogue raises " + ", ".join(unserved) + " towards the target"
        )
    return NextModuleResult(employee.id, status, None, "; ".join(parts), (), tuple(blocked))
