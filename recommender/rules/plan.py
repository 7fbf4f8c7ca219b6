"""`kb plan`: the set of modules within a budget of hours that closes the most weighted gap.

Levels rise along a plan, so a second module on the same skill only counts for what it adds:
the value of a set is sum(weight * (min(target, max(current, best module level)) - current)).
That value is a coverage function (submodular), so the sum of each module's own gain bounds
what any set can add; with a fractional-knapsack relaxation this makes an exact branch and
bound fast for catalogues of tens of modules. `greedy_plan` is kept as the baseline it beats.

Given the gains modules proved in cycles (`recommender.rules.proven.GainEvidence`), a module
measured near zero in every gap it would close, for learners like this one, is not planned
for those gaps (it may still come in as another module's prerequisite), and each step that
proved a gain says so in its reason. Evidence below the threshold changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from recommender.catalog.types import Catalog, Employee, Module
from recommender.errors import InvalidValueError
from recommender.rules.gaps import SkillGain, gap_closed, module_gains, skill_gaps, targets_of
from recommender.rules.proven import GainEvidence, evidence_text, module_evidence

_EPS = 1e-9
PlanMethod = Literal["exact", "greedy"]
# A node of the branch and bound: (next candidate, levels, chosen ids, gap closed, hours).
_Node = tuple[int, dict[str, int], tuple[str, ...], float, float]


@dataclass(frozen=True)
class PlanStep:
    module: Module
    gains: tuple[SkillGain, ...]
    cumulative_hours: float
    reason: str

    @property
    def closed(self) -> float:
        return gap_closed(list(self.gains))

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.module.to_dict(),
            "gap_closed": self.closed,
            "cumulative_hours": self.cumulative_hours,
            "closes": [g.to_dict() for g in self.gains],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Plan:
    employee: str
    hours_budget: float
    method: PlanMethod
    steps: tuple[PlanStep, ...]
    gap_before: float
    reason: str

    @property
    def total_hours(self) -> float:
        return sum(s.module.hours for s in self.steps)

    @property
    def gap_closed(self) -> float:
        return sum(s.closed for s in self.steps)

    @property
    def module_ids(self) -> list[str]:
        return [s.module.id for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "hours_budget": self.hours_budget,
            "method": self.method,
            "total_hours": self.total_hours,
            "gap_closed": self.gap_closed,
            "gap_before": self.gap_before,
            "gap_after": self.gap_before - self.gap_closed,
            "modules": [s.to_dict() for s in self.steps],
            "reason": self.reason,
        }


def _raised(levels: Mapping[str, int], module: Module) -> dict[str, int]:
    """Levels after completing a module in full (a plan assumes every assessment is passed)."""
    out = dict(levels)
    for skill, level in module.skills.items():
        out[skill] = max(out.get(skill, 0), level)
    return out


def _topological(modules: Iterable[Module], done: frozenset[str]) -> list[Module]:
    """Prerequisites first, catalogue order among modules free at the same time.

    networkx's lexicographical topological sort: linear in the modules and their
    prerequisites (a hand-written scan of every waiting module per step was quadratic).
    """
    import networkx as nx  # here, not at the top: `import recommender` loads no networkx

    pool = {m.id: m for m in modules}
    needs: nx.DiGraph = nx.DiGraph()
    needs.add_nodes_from(pool)
    needs.add_edges_from(
        (p, m.id) for m in pool.values() for p in m.prerequisites if p in pool and p not in done
    )
    return [
        pool[ident]
        for ident in nx.lexicographical_topological_sort(needs, key=lambda i: (pool[i].order, i))
    ]


class _Search:
    """Branch and bound over include/exclude decisions, modules in topological order."""

    def __init__(
        self,
        catalog: Catalog,
        candidates: list[Module],
        levels: Mapping[str, int],
        targets: Mapping[str, tuple[int, str]],
        done: frozenset[str],
        budget: float,
    ) -> None:
        self.catalog = catalog
        self.candidates = candidates
        self.targets = targets
        self.done = done
        self.budget = budget
        self.best: tuple[float, float, list[str]] = (0.0, 0.0, [])
        self.start_levels = dict(levels)

    def gain(self, module: Module, levels: Mapping[str, int]) -> float:
        return gap_closed(module_gains(self.catalog, module, levels, self.targets))

    def bound(self, index: int, levels: Mapping[str, int], chosen: set[str], left: float) -> float:
        """Fractional knapsack over each remaining module's own gain: an upper bound.

        Only modules still reachable count: one that does not fit in the hours left, or needs
        (at any distance) a module excluded or out of reach, is blocked. Candidates come in
        prerequisite order, so one pass finds them all, and a long chain cut near its start
        bounds to nothing at once instead of pricing every module behind the cut.
        """
        blocked = {m.id for m in self.candidates[:index]} - chosen
        items = []
        for module in self.candidates[index:]:
            if module.hours > left + _EPS or any(p in blocked for p in module.prerequisites):
                blocked.add(module.id)
                continue
            gain = self.gain(module, levels)
            if gain > 0:
                items.append((gain / module.hours, gain, module.hours))
        items.sort(reverse=True)
        total = 0.0
        for ratio, gain, hours in items:
            if hours <= left:
                total += gain
                left -= hours
            else:
                total += ratio * left
                break
        return total

    def run(self) -> list[str]:
        """Depth first, including each module before excluding it, on an explicit stack: the
        depth is the number of candidates, which a long prerequisite chain makes thousands."""
        stack: list[_Node] = [(0, self.start_levels, (), 0.0, 0.0)]
        while stack:
            stack.extend(reversed(self._visit(*stack.pop())))
        return self.best[2]

    def _visit(
        self,
        index: int,
        levels: dict[str, int],
        chosen: tuple[str, ...],
        value: float,
        hours: float,
    ) -> list[_Node]:
        """Record the node if it is the best so far; return its children, include first."""
        best_value, best_hours, _ = self.best
        if value > best_value + _EPS or (
            abs(value - best_value) <= _EPS and hours < best_hours - _EPS
        ):
            self.best = (value, hours, list(chosen))
            best_value, best_hours = value, hours
        if index == len(self.candidates):
            return []
        chosen_set = set(chosen)
        optimistic = value + self.bound(index, levels, chosen_set, self.budget - hours)
        if optimistic < best_value - _EPS or (
            optimistic <= best_value + _EPS and hours >= best_hours - _EPS
        ):
            return []
        children = []
        module = self.candidates[index]
        available = self.done | chosen_set
        if hours + module.hours <= self.budget + _EPS and all(
            p in available for p in module.prerequisites
        ):
            gain = self.gain(module, levels)
            children.append(
                (
                    index + 1,
                    _raised(levels, module),
                    (*chosen, module.id),
                    value + gain,
                    hours + module.hours,
                )
            )
        children.append((index + 1, levels, chosen, value, hours))
        return children


def _measured_zero(
    catalog: Catalog, employee: Employee, module: Module, evidence: GainEvidence | None
) -> bool:
    """Whether `module` proved near-zero gain in every gap it would close for `employee`."""
    if evidence is None:
        return False
    gains = module_gains(catalog, module, employee.skills, targets_of(catalog, employee))
    tier, _ = module_evidence(evidence, module.id, [g.skill for g in gains], employee.team)
    return tier == "near-zero"


def _candidates(
    catalog: Catalog, employee: Employee, evidence: GainEvidence | None = None
) -> list[Module]:
    """Modules that close a gap now (and were not measured near zero at it), plus the
    uncompleted prerequisites they need (transitively)."""
    targets = targets_of(catalog, employee)
    done = employee.completed_modules
    useful = [
        m
        for m in catalog.modules.values()
        if m.id not in done
        and module_gains(catalog, m, employee.skills, targets)
        and not _measured_zero(catalog, employee, m, evidence)
    ]
    keep: dict[str, Module] = {}
    stack = list(useful)
    while stack:
        module = stack.pop()
        if module.id in keep:
            continue
        keep[module.id] = module
        stack += [catalog.modules[p] for p in module.prerequisites if p not in done]
    return _topological(keep.values(), done)


def _cheapest_start(catalog: Catalog, employee: Employee) -> tuple[str, float] | None:
    """The gap-closing module that is cheapest to reach, counting its missing prerequisites."""
    targets = targets_of(catalog, employee)
    done = employee.completed_modules
    best: tuple[float, int, str] | None = None
    for module in catalog.modules.values():
        if module.id in done or not module_gains(catalog, module, employee.skills, targets):
            continue
        needed: set[str] = set()
        stack = [module.id]
        while stack:
            ident = stack.pop()
            if ident in needed or ident in done:
                continue
            needed.add(ident)
            stack += catalog.modules[ident].prerequisites
        hours = sum(catalog.modules[m].hours for m in needed)
        if best is None or (hours, module.order) < best[:2]:
            best = (hours, module.order, module.id)
    return None if best is None else (best[2], best[0])


def _build(
    catalog: Catalog,
    employee: Employee,
    chosen: Iterable[str],
    budget: float,
    method: PlanMethod,
    evidence: GainEvidence | None = None,
) -> Plan:
    targets = targets_of(catalog, employee)
    done = employee.completed_modules
    modules = _topological((catalog.modules[m] for m in chosen), done)
    in_plan = {m.id for m in modules}
    levels: dict[str, int] = dict(employee.skills)
    steps = []
    hours = 0.0
    for module in modules:
        gains = tuple(module_gains(catalog, module, levels, targets))
        hours += module.hours
        prereq = [
            f"{p} ({'completed' if p in done else 'earlier in this plan'})"
            for p in module.prerequisites
        ]
        unlocks = [m.id for m in modules if module.id in m.prerequisites and m.id in in_plan]
        if gains:
            reason = "closes " + ", ".join(g.describe() for g in gains)
        else:
            reason = "closes no gap itself"
        if unlocks:
            reason += f"; prerequisite of {', '.join(unlocks)}"
        reason += "; " + ("prerequisites: " + ", ".join(prereq) if prereq else "no prerequisites")
        if evidence is not None and gains:
            tier, proven = module_evidence(
                evidence, module.id, [g.skill for g in gains], employee.team
            )
            if tier == "proven":
                reason += "; " + evidence_text(catalog, tier, proven)
        steps.append(PlanStep(module, gains, hours, reason))
        levels = _raised(levels, module)
    gap_before = sum(g.weighted_gap for g in skill_gaps(catalog, employee))
    if steps:
        closed = sum(s.closed for s in steps)
        reason = (
            f"{len(steps)} module(s), {hours:g} of {budget:g} h, close weighted gap {closed:g} "
            f"of {gap_before:g} ({method} search)"
        )
    elif gap_before <= 0:
        reason = "no gaps left: nothing to plan"
    else:
        cheapest = _cheapest_start(catalog, employee)
        if cheapest is not None and cheapest[1] > budget + _EPS:
            reason = (
                f"nothing fits in {budget:g} h: the cheapest way to close a gap, {cheapest[0]} "
                f"with its missing prerequisites, takes {cheapest[1]:g} h"
            )
        elif cheapest is not None:
            reason = (
                "no available module closes a gap on its own; the gaps need prerequisites "
                "that close nothing themselves (greedy never takes those)"
            )
        else:
            reason = "no module left in the catalogue closes the remaining gaps"
    return Plan(employee.id, budget, method, tuple(steps), gap_before, reason)


def _check_hours(hours: float) -> None:
    if not hours > 0:
        raise InvalidValueError(f"hours must be a positive number, got {hours}")


def plan_modules(
    catalog: Catalog, employee_id: str, hours: float, evidence: GainEvidence | None = None
) -> Plan:
    """`kb plan EMPLOYEE --hours H`: the exact best plan (most gap, then fewest hours);
    `evidence`: the gains modules proved (see the module's docstring)."""
    _check_hours(hours)
    employee = catalog.employee(employee_id)
    candidates = _candidates(catalog, employee, evidence)
    search = _Search(
        catalog,
        candidates,
        employee.skills,
        targets_of(catalog, employee),
        employee.completed_modules,
        hours,
    )
    return _build(catalog, employee, search.run(), hours, "exact", evidence)


def greedy_plan(
    catalog: Catalog, employee_id: str, hours: float, evidence: GainEvidence | None = None
) -> Plan:
    """Baseline: repeatedly take the available module with the best gain per hour that fits
    (skipping those measured near zero, with `evidence`)."""
    _check_hours(hours)
    employee = catalog.employee(employee_id)
    targets = targets_of(catalog, employee)
    done = set(employee.completed_modules)
    levels: dict[str, int] = dict(employee.skills)
    chosen: list[str] = []
    left = hours
    while True:
        best: tuple[float, int, Module] | None = None
        for module in catalog.modules.values():
            if module.id in done or module.hours > left + _EPS:
                continue
            if any(p not in done for p in module.prerequisites):
                continue
            if _measured_zero(catalog, employee, module, evidence):
                continue
            gain = gap_closed(module_gains(catalog, module, levels, targets))
            if gain <= 0:
                continue
            key = (gain / module.hours, -module.order, module)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None:
            break
        module = best[2]
        chosen.append(module.id)
        done.add(module.id)
        left -= module.hours
        levels = _raised(levels, module)
    return _build(catalog, employee, chosen, hours, "greedy", evidence)
