"""Training cycles as events: creating one through the API, and replaying every event kind
over the catalogue (completions and ratings through `feedback`, a cycle's own kinds here).

A post-assessment raises levels by the rule completions use (`feedback.completed_level`):
level = max(current, round(current + (taught - current) x score)), half rounding up, where
`taught` is the level the cycle's modules bring that skill to (for a row per module, the
module's own level for each of its skills, exactly as `kb complete` does). It also marks the
cycle's modules covering that row as completed (source "cycle"), so they count as
prerequisites and are not suggested again. A pre-assessment, a survey answer or an attendance
record changes no level, nor does a follow-up (scheduled, or its answers) or a team's KPI.

When an import is corrected by a later one, the later result counts: an assessment per
(cycle, participant, phase, skill or module), a survey per (cycle, participant) and an
attendance record per (cycle, participant, session) replace earlier ones with the same key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from recommender.catalog.types import Catalog, Completion, Cycle, Employee, build_cycle
from recommender.catalog.validate import validate_cycle
from recommender.errors import Fault, RecommenderError
from recommender.rules.feedback import AppliedEvents, apply_events, completed_level
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import CYCLE_KINDS, Event

PHASES = ("pre", "post")


@dataclass(frozen=True)
class SurveyQuestion:
    id: str
    text: str


# The fixed questions of every cycle's survey, each rated 1 (disagree) to 5 (agree).
SURVEY_QUESTIONS: tuple[SurveyQuestion, ...] = (
    SurveyQuestion("relevance", "The content was relevant to my work"),
    SurveyQuestion("clarity", "The trainer explained things clearly"),
    SurveyQuestion("pace", "The pace was right for me"),
    SurveyQuestion("materials", "The materials and exercises helped me learn"),
    SurveyQuestion("confidence", "I can apply what I learned in my work"),
)


class CycleInvalidError(RecommenderError):
    """A cycle definition with faults; carries every one, nothing was recorded."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self.faults = tuple(faults)
        lines = [f"the cycle has {len(self.faults)} fault(s); nothing was recorded:"]
        lines += [f"  - {fault}" for fault in self.faults]
        super().__init__("\n".join(lines))


class CycleExistsError(RecommenderError):
    """A new cycle whose id is taken."""

    def __init__(self, cycle_id: str) -> None:
        self.cycle_id = cycle_id
        super().__init__(f"a cycle with id '{cycle_id}' already exists; choose another id")


# -- what a cycle teaches ---------------------------------------------------------------------


def taught_level(catalog: Catalog, cycle: Cycle, skill: str) -> int:
    """The level the cycle's modules bring `skill` to (the highest of them); 0 if none does."""
    return max((catalog.modules[m].skills.get(skill, 0) for m in cycle.modules), default=0)


def cycle_skills(catalog: Catalog, cycle: Cycle) -> list[str]:
    """The skills the cycle's modules teach, in the catalogue's order."""
    taught = {s for m in cycle.modules for s in catalog.modules[m].skills}
    return [s for s in catalog.skills if s in taught]


def target_of(event: Event) -> tuple[str, str]:
    """("module", id) or ("skill", id): what an assessment row scores."""
    if event.module:
        return "module", event.module
    return "skill", str(event.details.get("skill", ""))


def target_skills(catalog: Catalog, event: Event) -> list[str]:
    """The skills an assessment event scores: one, or its module's."""
    kind, ident = target_of(event)
    return list(catalog.modules[ident].skills) if kind == "module" else [ident]


def result_key(event: Event) -> tuple[Any, ...] | None:
    """What a later result of the same cycle replaces (None: kept beside the others)."""
    if event.kind == "assessment":
        return (
            event.kind,
            event.cycle,
            event.employee,
            event.details.get("phase"),
            *target_of(event),
        )
    if event.kind == "survey":  # the end-of-cycle survey, or one form of a follow-up
        d = event.details
        return (event.kind, event.cycle, event.employee, d.get("followup"), d.get("form"))
    if event.kind == "followup":
        return (event.kind, event.cycle, str(event.details.get("id")))
    if event.kind == "attendance":
        return (event.kind, event.cycle, event.employee, str(event.details.get("session")))
    return None


def superseded(events: Sequence[Event]) -> set[int]:
    """Positions in `events` of results replaced by a later one with the same key."""
    last: dict[tuple[Any, ...], int] = {}
    replaced: set[int] = set()
    for position, event in enumerate(events):
        key = result_key(event)
        if key is None:
            continue
        if key in last:
            replaced.add(last[key])
        last[key] = position
    return replaced


def mismatch(catalog: Catalog, event: Event) -> str | None:
    """Why a result event no longer fits the catalogue (None: it fits)."""
    cycle = catalog.cycles.get(event.cycle or "")
    if cycle is None:
        return f"unknown cycle '{event.cycle}'"
    if event.employee not in cycle.participants:
        return f"'{event.employee}' is not a participant of cycle '{cycle.id}'"
    if event.kind == "assessment":
        kind, ident = target_of(event)
        if kind == "module" and ident not in cycle.modules:
            return f"module '{ident}' is not one of the cycle's modules"
        if kind == "skill" and not taught_level(catalog, cycle, ident):
            return f"skill '{ident}' is not taught by the cycle's modules"
    return None


def apply_post_assessment(catalog: Catalog, employee: Employee, event: Event) -> Employee:
    """`employee` after a post-assessment result of a cycle (see the module's docstring)."""
    cycle = catalog.cycles[event.cycle or ""]
    score = 1.0 if event.score is None else event.score
    skills = dict(employee.skills)
    completed = list(employee.completed)
    done = {c.module for c in completed}
    kind, ident = target_of(event)
    if kind == "module":
        module = catalog.modules[ident]
        for skill, level in module.skills.items():
            skills[skill] = completed_level(employee.level(skill), level, score)
        completed.append(Completion(module=ident, score=event.score, source="cycle"))
    else:
        skills[ident] = completed_level(
            employee.level(ident), taught_level(catalog, cycle, ident), score
        )
        for module_id in cycle.modules:
            if ident in catalog.modules[module_id].skills and module_id not in done:
                completed.append(Completion(module=module_id, source="cycle"))
                done.add(module_id)
    return replace(employee, skills=skills, completed=tuple(completed))


# -- replaying every event --------------------------------------------------------------------


class Replay:
    """Events replayed in order over a catalogue, resumable: `until(n)` applies the events
    before position n, so a report can look at the catalogue between two of them."""

    def __init__(self, catalog: Catalog, events: Iterable[Event]) -> None:
        self.events = list(events)
        self.replaced = superseded(self.events)
        self.catalog = catalog
        self.position = 0
        self.applied = 0
        self.skipped: list[Event] = []

    def until(self, stop: int) -> Catalog:
        pending: list[Event] = []  # a run of completions and ratings, applied together
        while self.position < min(stop, len(self.events)):
            event = self.events[self.position]
            if event.kind in CYCLE_KINDS:
                self._flush(pending)
                pending = []
                self._apply(event, self.position in self.replaced)
            else:
                pending.append(event)
            self.position += 1
        self._flush(pending)
        return self.catalog

    def result(self) -> AppliedEvents:
        self.until(len(self.events))
        return AppliedEvents(self.catalog, self.applied, tuple(self.skipped))

    def _flush(self, events: list[Event]) -> None:
        if events:
            done = apply_events(self.catalog, events)
            self.catalog = done.catalog
            self.applied += done.applied
            self.skipped += done.skipped

    def _apply(self, event: Event, replaced: bool) -> None:
        catalog = self.catalog
        if event.kind == "cycle":
            entry = event.details
            ident = str(entry.get("id", ""))
            if ident in catalog.cycles or validate_cycle(entry, catalog):
                self.skipped.append(event)  # cycles.yaml now defines it, or it no longer fits
                return
            cycle = build_cycle(entry, catalog.modules, catalog.employees, source="api")
            self.catalog = replace(catalog, cycles={**catalog.cycles, ident: cycle})
        elif event.kind == "kpi":  # a team's KPI value: read by reports, changes no level
            if str(event.details.get("team")) not in catalog.teams:
                self.skipped.append(event)
                return
        elif event.kind == "followup":  # a follow-up scheduled: changes no level
            if (event.cycle or "") not in catalog.cycles:
                self.skipped.append(event)
                return
        elif mismatch(catalog, event) is not None:
            self.skipped.append(event)
            return
        elif event.kind == "assessment" and event.details.get("phase") == "post" and not replaced:
            employee = catalog.employees[event.employee]
            after = apply_post_assessment(catalog, employee, event)
            self.catalog = replace(catalog, employees={**catalog.employees, employee.id: after})
        self.applied += 1


def replay_events(catalog: Catalog, events: Iterable[Event]) -> AppliedEvents:
    """Every event applied in order; those that no longer match the catalogue are kept in
    the store but skipped (an unknown employee, module or cycle, a participant removed)."""
    return Replay(catalog, events).result()


# -- creating a cycle through the API ---------------------------------------------------------


def create_cycle(store: RecommenderStore, catalog: Catalog, entry: Mapping[str, Any]) -> Cycle:
    """Validate `entry` (the fields of a `cycles.yaml` entry) against the catalogue and record
    it as a `cycle` event; it then outlives catalogue reloads as every event does."""
    faults = validate_cycle(dict(entry), catalog)
    if faults:
        raise CycleInvalidError(faults)
    ident = str(entry["id"])
    if ident in catalog.cycles:
        raise CycleExistsError(ident)
    details = {k: v for k, v in entry.items() if v is not None}
    store.add_event(
        Event(kind="cycle", employee="", cycle=ident, details=details, created_at=now_iso())
    )
    return build_cycle(details, catalog.modules, catalog.employees, source="api")
