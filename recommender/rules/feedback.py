"""Feedback: record completions and ratings, and replay them over the catalogue.

The catalogue says where people stood when it was written; events say what happened since.
Replaying them in order over every freshly loaded catalogue keeps the two consistent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from recommender.catalog.types import Catalog, Completion, Employee, Module
from recommender.errors import InvalidValueError, UnknownIdError
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import Event

if TYPE_CHECKING:
    from recommender.rules.materials import MaterialSource

RATING_MIN, RATING_MAX = 1, 5


def completed_level(current: int, module_level: int, score: float) -> int:
    """Level after a module: max(current, round(current + (module_level - current) * score)).

    Rounds half up (2.5 -> 3), so a half-passed assessment still counts as progress.
    """
    return max(current, math.floor(current + (module_level - current) * score + 0.5))


def apply_completion(employee: Employee, module: Module, score: float | None) -> Employee:
    """The employee after completing `module` with an assessment `score` (None: 1.0)."""
    effective = 1.0 if score is None else score
    skills = dict(employee.skills)
    for skill, level in module.skills.items():
        skills[skill] = completed_level(employee.level(skill), level, effective)
    completion = Completion(module=module.id, score=score, source="event")
    return replace(employee, skills=skills, completed=(*employee.completed, completion))


@dataclass(frozen=True)
class AppliedEvents:
    catalog: Catalog
    applied: int
    skipped: tuple[Event, ...]  # events naming an employee or module the catalogue lacks now


def apply_events(catalog: Catalog, events: Iterable[Event]) -> AppliedEvents:
    """Replay events in order; ones that no longer match the catalogue are kept but skipped."""
    employees = dict(catalog.employees)
    applied = 0
    skipped = []
    for event in events:
        employee = employees.get(event.employee)
        if employee is None:
            skipped.append(event)
            continue
        if event.kind == "completion":
            module = catalog.modules.get(event.module or "")
            if module is None:
                skipped.append(event)
                continue
            employees[employee.id] = apply_completion(employee, module, event.score)
        elif event.kind == "rating" and event.doc_id is not None and event.rating is not None:
            ratings = {**employee.ratings, event.doc_id: event.rating}
            employees[employee.id] = replace(employee, ratings=ratings)
        else:
            skipped.append(event)
            continue
        applied += 1
    return AppliedEvents(replace(catalog, employees=employees), applied, tuple(skipped))


@dataclass(frozen=True)
class LevelChange:
    skill: str
    before: int
    after: int

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class CompletionResult:
    event: Event
    changes: tuple[LevelChange, ...]
    catalog: Catalog  # the catalogue with this completion applied

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.event.employee,
            "module": self.event.module,
            "score": self.event.score,
            "changes": [c.to_dict() for c in self.changes],
            "event": self.event.to_dict(),
        }


def record_completion(
    store: RecommenderStore,
    catalog: Catalog,
    employee_id: str,
    module_id: str,
    score: float = 1.0,
) -> CompletionResult:
    """Validate, then record `employee_id` completing `module_id`; nothing is written on error."""
    employee = catalog.employee(employee_id)
    module = catalog.module(module_id)
    if not (isinstance(score, int | float) and 0.0 <= score <= 1.0) or math.isnan(score):
        raise InvalidValueError(f"score must be between 0 and 1, got {score}")
    after = apply_completion(employee, module, float(score))
    changes = tuple(
        LevelChange(skill, employee.level(skill), after.level(skill)) for skill in module.skills
    )
    event = store.add_event(
        Event(
            kind="completion",
            employee=employee.id,
            module=module.id,
            score=float(score),
            created_at=now_iso(),
        )
    )
    employees = {**catalog.employees, employee.id: after}
    return CompletionResult(event, changes, replace(catalog, employees=employees))


@dataclass(frozen=True)
class RatingResult:
    event: Event
    title: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.event.employee,
            "doc_id": self.event.doc_id,
            "title": self.title,
            "rating": self.event.rating,
            "event": self.event.to_dict(),
        }


def record_rating(
    store: RecommenderStore,
    catalog: Catalog,
    employee_id: str,
    doc_id: str,
    rating: int,
    source: MaterialSource,
) -> RatingResult:
    """Validate (employee, 1..5, document known to the kb), then record the rating."""
    employee = catalog.employee(employee_id)
    if (
        isinstance(rating, bool)
        or not isinstance(rating, int)
        or not (RATING_MIN <= rating <= RATING_MAX)
    ):
        raise InvalidValueError(
            f"rating must be an integer {RATING_MIN}..{RATING_MAX}, got {rating}"
        )
    doc = source.get_document(doc_id)
    if doc is None:
        raise UnknownIdError("document", doc_id, "it is not in the knowledge base")
    details = {
        "title": doc.title,
        "team": doc.team,
        "course": doc.course,
        "module": doc.module,
        "author": doc.author,
    }
    event = store.add_event(
        Event(
            kind="rating",
            employee=employee.id,
            doc_id=doc_id,
            rating=rating,
            details={k: v for k, v in details.items() if v},
            created_at=now_iso(),
        )
    )
    return RatingResult(event, doc.title)
