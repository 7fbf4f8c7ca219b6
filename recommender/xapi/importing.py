"""Statements from a Learning Record Store turned into the events the recommender learns from.

`import_statements` reads a batch (see `statement.read_batch`), checks every statement
against the xAPI specification and refuses the whole batch, naming each bad statement by its
position (1 = the first) and id with the reasons, if any is not valid. A valid batch is then
mapped (`mapping.XapiMapping`) and recorded in one transaction, oldest statement first (LRSs
list the newest first; replay order matters when a later result replaces an earlier one):

- `completed` (and `passed`, `scored` outside a cycle) of a module or course: a completion
  of each module at the statement's score (1.0 without; `scored` needs one);
- `scored`, `passed`, `failed` in a cycle (its extension, or a grouping or parent activity
  that is the cycle) of a module or skill: an assessment (phase `post` unless the phase
  extension says `pre`); `failed` outside a cycle records nothing;
- `attended` of a cycle or one of its sessions: an attendance record;
- `rated` of a document: a rating (`result.score.raw`, 1..5).

A valid statement that maps to nothing (an actor no employee matches, an activity outside the
catalogue, a verb outside these six, a failed module outside a cycle) is listed in the
report's `skipped` with the reason and records nothing; with `strict` each is a fault and the
batch is refused. Every event carries its statement's id (`details.xapi_id`); a statement
whose id is already stored is not recorded again, so importing the same batch twice adds
nothing. A statement without an id gets a uuid5 of its content, so that holds for it too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recommender.catalog.types import Catalog
from recommender.cycles.replay import mismatch
from recommender.errors import FAULTS_SHOWN, RecommenderError
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import Event
from recommender.xapi.exporting import statement_ids
from recommender.xapi.mapping import Target, XapiMapping
from recommender.xapi.statement import (
    Activity,
    BatchUnreadable,
    Result,
    Statement,
    check_statement,
    read_batch,
)
from recommender.xapi.vocabulary import (
    EXT_CYCLE,
    EXT_DATE,
    EXT_PHASE,
    EXT_SESSION,
    NAMESPACE,
    VERB_NAMES,
    VERBS,
)

RATING_MIN, RATING_MAX = 1, 5


@dataclass(frozen=True)
class StatementFault:
    """One statement that cannot be imported: its position (1-based), id and the reason."""

    position: int
    id: str | None
    reason: str

    def __str__(self) -> str:
        ident = f" (id {self.id})" if self.id else ""
        return f"statement {self.position}{ident}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "id": self.id, "reason": self.reason}


class XapiInvalidError(RecommenderError):
    """A batch with faults: every one is kept (the first FAULTS_SHOWN in the message); nothing
    was imported."""

    def __init__(self, faults: Sequence[StatementFault]) -> None:
        self.total = len(faults)
        self.faults = tuple(faults)
        shown = self.faults[:FAULTS_SHOWN]
        lines = [f"{self.total} statement(s) cannot be imported; nothing was imported:"]
        lines += [f"  - {fault}" for fault in shown]
        if self.total > len(shown):
            lines.append(f"  ... and {self.total - len(shown)} more like these")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class XapiImportReport:
    statements: int  # in the batch
    recorded: int  # statements recorded now
    events: int  # events they became (a course completion is one per module)
    already_imported: int  # statements whose id was stored before
    skipped: tuple[StatementFault, ...] = ()  # valid, but mapped to nothing
    ids: tuple[str, ...] = field(default=(), repr=False)  # every statement's id, in batch order

    def to_dict(self) -> dict[str, Any]:
        return {
            "statements": self.statements,
            "recorded": self.recorded,
            "events": self.events,
            "already_imported": self.already_imported,
            "skipped": [s.to_dict() for s in self.skipped],
        }


def statement_id(data: dict[str, Any], checked: Statement) -> str:
    """The statement's own id, or a uuid5 of its canonical JSON when it has none."""
    if checked.id:
        return checked.id
    return str(uuid.uuid5(NAMESPACE, json.dumps(data, sort_keys=True, separators=(",", ":"))))


def _utc(stamp: str | None) -> str | None:
    """An ISO timestamp in UTC to the second (no offset: taken as UTC), or None."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def import_statements(
    store: RecommenderStore,
    catalog: Catalog,
    data: bytes | Sequence[Any],
    mapping: XapiMapping | None = None,
    *,
    strict: bool = False,
    clock: Callable[[], str] = now_iso,
) -> XapiImportReport:
    """Check, map and record a batch of statements (see the module's docstring); on any fault
    raise `XapiInvalidError` and record nothing."""
    mapping = mapping or XapiMapping()
    try:
        raw = read_batch(data) if isinstance(data, bytes) else list(data)
    except BatchUnreadable as exc:
        raise XapiInvalidError([StatementFault(0, None, str(exc))]) from None
    faults: list[StatementFault] = []
    checked: list[tuple[int, str, Statement]] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(raw, 1):
        statement, reasons = check_statement(item)
        given = item.get("id") if isinstance(item, dict) else None
        ident = given if isinstance(given, str) else None
        if statement is None:
            faults += [StatementFault(position, ident, reason) for reason in reasons]
            continue
        sid = statement_id(item, statement)
        if sid in seen:
            faults.append(StatementFault(position, sid, f"repeats the id of statement {seen[sid]}"))
            continue
        seen[sid] = position
        checked.append((position, sid, statement))
    if not raw:
        faults.append(StatementFault(0, None, "the batch holds no statements"))
    if faults:
        raise XapiInvalidError(faults)

    stored = store.events()
    done = {str(e.details["xapi_id"]) for e in stored if e.details.get("xapi_id")}
    done.update(sid for _, sid in statement_ids(stored))  # our own statements, re-imported
    created_at = clock()
    # oldest first; a statement without a timestamp keeps its place after the dated ones
    order = sorted(checked, key=lambda c: (_utc(c[2].timestamp or c[2].stored) or "~", c[0]))
    events: list[Event] = []
    skipped: list[StatementFault] = []
    again = imported = 0
    for position, sid, statement in order:
        if sid in done:
            again += 1
            continue
        made = _events(statement, sid, catalog, mapping, created_at)
        if isinstance(made, str):
            skipped.append(StatementFault(position, sid, made))
            continue
        events += made
        imported += 1
    skipped.sort(key=lambda s: s.position)
    if strict and skipped:
        raise XapiInvalidError(skipped)
    if events:
        store.add_events(events)
    return XapiImportReport(
        statements=len(raw),
        recorded=imported,
        events=len(events),
        already_imported=again,
        skipped=tuple(skipped),
        ids=tuple(sid for _, sid, _ in checked),
    )


# -- one statement -> events ------------------------------------------------------------------


def _events(
    statement: Statement, sid: str, catalog: Catalog, mapping: XapiMapping, created_at: str
) -> list[Event] | str:
    """The events one valid statement becomes, or the reason it becomes none."""
    verb = VERB_NAMES.get(statement.verb.id)
    if verb is None:
        return f"verb {statement.verb.id} is not one of ADL's {', '.join(VERBS)}"
    employee = mapping.employee(statement.actor, catalog)
    if employee is None:
        return f"actor {_actor_label(statement)} is no employee (add it to the mapping file)"
    if employee not in catalog.employees:
        return f"the mapping file maps the actor to '{employee}', who is not in the catalogue"
    if not isinstance(statement.object, Activity):
        return "the object is not an activity"
    target = mapping.target(statement.object, catalog)
    if target is None:
        return (
            f"activity {statement.object.id} is no module, course, skill, cycle or document "
            "of the catalogue (add it to the mapping file)"
        )
    cycle = _cycle_of(statement, target, catalog, mapping)
    details: dict[str, Any] = {"xapi_id": sid, "verb": verb, "activity": statement.object.id}
    stamp = _utc(statement.timestamp)
    if stamp:
        details["timestamp"] = stamp
    base = Event(kind="completion", employee=employee, created_at=created_at, details=details)
    if verb == "rated":
        return _rating(statement.result, target, base)
    if verb == "attended":
        return _attendance(statement, target, cycle, base, catalog)
    if cycle is not None and verb in ("scored", "passed", "failed"):
        return _assessment(statement, verb, target, cycle, base, catalog)
    if target.kind not in ("module", "course"):
        return f"'{verb}' of a {target.kind} outside a training cycle records nothing"
    if verb == "failed":
        return "a failed module outside a training cycle is not a completion; nothing recorded"
    score = _score(statement.result, None if verb == "scored" else 1.0)
    if isinstance(score, str):
        return score
    modules = [target.id] if target.kind == "module" else list(catalog.courses[target.id].modules)
    return [_with(base, module=m, score=score) for m in modules]


def _with(event: Event, **changes: Any) -> Event:
    from dataclasses import replace

    details = {**event.details, **changes.pop("details", {})}
    return replace(event, details=details, **changes)


def _actor_label(statement: Statement) -> str:
    actor = statement.actor
    if actor.account:
        return f"account {actor.account.name} at {actor.account.homePage}"
    return actor.mbox or actor.openid or actor.mbox_sha1sum or "(a group)"


def _cycle_of(
    statement: Statement, target: Target, catalog: Catalog, mapping: XapiMapping
) -> str | None:
    """The training cycle a statement belongs to: its object's, the cycle extension, or a
    parent or grouping activity that is a cycle."""
    if target.cycle:
        return target.cycle
    context = statement.context
    if context is None:
        return None
    named = (context.extensions or {}).get(EXT_CYCLE)
    if isinstance(named, str):
        return named
    activities = context.contextActivities
    for group in (activities.grouping, activities.parent) if activities else ():
        for activity in group if isinstance(group, list) else [group] if group else []:
            found = mapping.target(activity, catalog)
            if found is not None and found.kind == "cycle":
                return found.id
    return None


def _score(result: Result | None, default: float | None) -> float | str:
    """A score in 0..1: scaled (below 0 as 0), else (raw - min) / (max - min), else default."""
    score = result.score if result else None
    if score is not None and score.scaled is not None:
        return round(max(0.0, score.scaled), 6)
    if score is not None and score.raw is not None:
        if score.max is None:
            return "a raw score needs max (or give scaled) to be read as a share"
        low = score.min if score.min is not None else 0.0
        if score.max <= low:
            return f"max ({score.max}) must be above min ({low})"
        return round(min(1.0, max(0.0, (score.raw - low) / (score.max - low))), 6)
    if default is None:
        return "no score in result.score"
    return default


def _assessment(
    statement: Statement, verb: str, target: Target, cycle: str, base: Event, catalog: Catalog
) -> list[Event] | str:
    if target.kind not in ("module", "skill"):
        return f"an assessment scores a module or a skill, not a {target.kind}"
    score = _score(statement.result, {"scored": None, "passed": 1.0, "failed": 0.0}[verb])
    if isinstance(score, str):
        return score
    extensions = (statement.context.extensions if statement.context else None) or {}
    phase = extensions.get(EXT_PHASE, "post")
    if phase not in ("pre", "post"):
        return f"phase '{phase}' must be pre or post"
    raw = statement.result.score if statement.result else None
    details: dict[str, Any] = {"phase": phase}
    if target.kind == "skill":
        details["skill"] = target.id
    if raw is not None and raw.raw is not None and raw.max is not None:
        details.update(points=raw.raw, max_points=raw.max)
    else:
        details.update(points=round(score * 100, 4), max_points=100.0)
    event = _with(
        base,
        kind="assessment",
        cycle=cycle,
        module=target.id if target.kind == "module" else None,
        score=score,
        details=details,
    )
    why = mismatch(catalog, event)
    return why if why else [event]


def _attendance(
    statement: Statement, target: Target, cycle: str | None, base: Event, catalog: Catalog
) -> list[Event] | str:
    if cycle is None:
        return "'attended' records attendance of a training cycle; name the cycle"
    extensions = (statement.context.extensions if statement.context else None) or {}
    if target.kind == "session":
        session = target.id
    else:
        named = extensions.get(EXT_SESSION)
        stamp = _utc(statement.timestamp)
        session = str(named) if named else (stamp[:10] if stamp else "")
    if not session:
        return "no session: give a session activity, the session extension or a timestamp"
    result = statement.result
    attended = not (result and (result.completion is False or result.success is False))
    details: dict[str, Any] = {"session": session, "attended": attended}
    day = extensions.get(EXT_DATE)
    if isinstance(day, str):
        details["date"] = day
    event = _with(
        base, kind="attendance", cycle=cycle, score=1.0 if attended else 0.0, details=details
    )
    why = mismatch(catalog, event)
    return why if why else [event]


def _rating(result: Result | None, target: Target, base: Event) -> list[Event] | str:
    if target.kind != "document":
        return f"'rated' rates a document of the knowledge base, not a {target.kind}"
    raw = result.score.raw if result and result.score else None
    if raw is None or raw != int(raw) or not RATING_MIN <= raw <= RATING_MAX:
        return f"a rating is result.score.raw, a whole number {RATING_MIN}..{RATING_MAX}"
    return [_with(base, kind="rating", doc_id=target.id, rating=int(raw))]
