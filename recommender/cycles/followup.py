"""Follow-up surveys (Kirkpatrick level 3): do people apply what they learned, weeks later?

An organiser schedules follow-ups for a cycle (`schedule_followup`: e.g. +30 and +90 days
after its end, each with a self form, a manager form or both); each is a `followup` event
(`details`: id `d30`, days, due date, forms), and scheduling the same id again replaces it.
Answers import like the end-of-cycle survey (`csv_import.import_results` with `followup` and
`form`): one row per participant (for the manager form, the participant rated, optionally
with the `manager` who answered), the questions `FOLLOWUP_QUESTIONS` rated 1-5 and a comment;
they are `survey` events carrying `followup` and `form` in their details, so they never mix
with the end-of-cycle survey.

`applied_at_work` summarises them per follow-up and form: responses of participants, each
question's mean, the share who agree (4 or 5) that they apply it, and the comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recommender.catalog.types import Catalog, Cycle
from recommender.cycles.replay import SurveyQuestion
from recommender.errors import InvalidValueError, RecommenderError
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import Event

FORMS = ("self", "manager")
MAX_FOLLOWUP_DAYS = 730

FOLLOWUP_QUESTIONS: tuple[SurveyQuestion, ...] = (
    SurveyQuestion("applied", "I have applied what I learned in my work"),
    SurveyQuestion("frequency", "I use it regularly, at least every week or two"),
    SurveyQuestion("impact", "It has improved the results of my work"),
    SurveyQuestion("support", "My team and manager make room for using it"),
)
# The manager form asks the same about the participant.
MANAGER_WORDING = {
    "applied": "They have applied what they learned in their work",
    "frequency": "They use it regularly, at least every week or two",
    "impact": "It has improved the results of their work",
    "support": "The team makes room for them to use it",
}


class FollowupError(RecommenderError):
    """A follow-up that cannot be scheduled or answered as asked."""


@dataclass(frozen=True)
class Followup:
    id: str  # "d30"
    cycle: str
    days: int
    due: str  # ISO date: the cycle's end + days
    forms: tuple[str, ...]


def followup_id(days: int) -> str:
    return f"d{days}"


def scheduled(cycle: Cycle, events: Iterable[Event]) -> list[Followup]:
    """The cycle's follow-ups (the latest scheduling of each id), soonest first."""
    found: dict[str, Followup] = {}
    for e in events:
        if e.kind == "followup" and e.cycle == cycle.id:
            d = e.details
            found[str(d["id"])] = Followup(
                str(d["id"]), cycle.id, int(d["days"]), str(d["due"]), tuple(d["forms"])
            )
    return sorted(found.values(), key=lambda f: f.days)


def schedule_followup(
    store: RecommenderStore,
    catalog: Catalog,
    cycle_id: str,
    days: Sequence[int],
    forms: Sequence[str] = FORMS,
) -> list[Followup]:
    """Schedule a follow-up `days` after the cycle's end for each of `days` (1..730), with
    `forms` (self, manager); recorded in one transaction, and returned."""
    cycle = catalog.cycle(cycle_id)
    if not days:
        raise InvalidValueError(
            "give at least one follow-up, in days after the cycle ends (--days 30)"
        )
    bad = [d for d in days if not 1 <= d <= MAX_FOLLOWUP_DAYS]
    if bad:
        raise InvalidValueError(f"follow-up days must be 1..{MAX_FOLLOWUP_DAYS}, got {bad[0]}")
    unknown = [f for f in forms if f not in FORMS]
    if unknown or not forms:
        raise InvalidValueError(
            f"forms must be among {', '.join(FORMS)}, got {', '.join(unknown) or 'none'}"
        )
    end = dt.date.fromisoformat(cycle.end)
    made = []
    events = []
    for d in sorted(set(days)):
        f = Followup(
            followup_id(d),
            cycle.id,
            d,
            (end + dt.timedelta(days=d)).isoformat(),
            tuple(dict.fromkeys(forms)),
        )
        made.append(f)
        events.append(
            Event(
                kind="followup",
                employee="",
                cycle=cycle.id,
                details={"id": f.id, "days": f.days, "due": f.due, "forms": list(f.forms)},
                created_at=now_iso(),
            )
        )
    store.add_events(events)
    return made


def check_followup(cycle: Cycle, events: Iterable[Event], followup: str, form: str) -> Followup:
    """The scheduled follow-up answers may be imported into, or why not."""
    if form not in FORMS:
        raise InvalidValueError(f"form must be one of {', '.join(FORMS)}, got '{form}'")
    found = {f.id: f for f in scheduled(cycle, events)}
    if followup not in found:
        listed = ", ".join(found) or "none yet"
        raise FollowupError(
            f"cycle '{cycle.id}' has no follow-up '{followup}' (scheduled: {listed}); "
            f"schedule it first: kb cycle followup schedule {cycle.id} --days N"
        )
    if form not in found[followup].forms:
        raise FollowupError(
            f"follow-up '{followup}' of cycle '{cycle.id}' has no {form} form "
            f"(it has {', '.join(found[followup].forms)})"
        )
    return found[followup]


# -- the report's "applied at work" -----------------------------------------------------------


@dataclass(frozen=True)
class FollowupQuestionStats:
    id: str
    text: str
    mean: float | None
    answers: int


@dataclass(frozen=True)
class FollowupFormStats:
    form: str
    responses: int
    response_rate: float | None
    agree_applied: float | None  # share answering 4 or 5 to "applied"
    questions: tuple[FollowupQuestionStats, ...]
    comments: tuple[str, ...]


@dataclass(frozen=True)
class FollowupStats:
    id: str
    days: int
    due: str
    forms: tuple[FollowupFormStats, ...]


@dataclass(frozen=True)
class AppliedAtWork:
    """The cycle report's "applied at work" (level 3)."""

    followups: tuple[FollowupStats, ...]
    note: str


def applied_at_work(cycle: Cycle, events: Sequence[Event]) -> AppliedAtWork:
    """Each scheduled follow-up's answers, per form (the latest answer of each participant)."""
    out = []
    for f in scheduled(cycle, events):
        forms = []
        for form in f.forms:
            latest: dict[str, Event] = {}
            for e in events:
                d = e.details
                if (
                    e.kind == "survey"
                    and e.cycle == cycle.id
                    and d.get("followup") == f.id
                    and d.get("form") == form
                    and e.employee in cycle.participants
                ):
                    latest[e.employee] = e
            answers = [dict(e.details.get("answers", {})) for e in latest.values()]
            questions = []
            for q in FOLLOWUP_QUESTIONS:
                got = [a[q.id] for a in answers if q.id in a]
                text = MANAGER_WORDING[q.id] if form == "manager" else q.text
                questions.append(
                    FollowupQuestionStats(
                        q.id, text, round(sum(got) / len(got), 2) if got else None, len(got)
                    )
                )
            applied = [a["applied"] for a in answers if "applied" in a]
            n = len(cycle.participants)
            forms.append(
                FollowupFormStats(
                    form,
                    len(latest),
                    round(len(latest) / n, 4) if n else None,
                    round(sum(1 for v in applied if v >= 4) / len(applied), 4) if applied else None,
                    tuple(questions),
                    tuple(
                        str(e.details["comment"])
                        for e in latest.values()
                        if e.details.get("comment")
                    ),
                )
            )
        out.append(FollowupStats(f.id, f.days, f.due, tuple(forms)))
    note = (
        ""
        if out
        else "no follow-up scheduled (kb cycle followup schedule CYCLE --days 30 --days 90)"
    )
    return AppliedAtWork(tuple(out), note)
