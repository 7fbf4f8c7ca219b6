"""The service's own events as xAPI statements: completions, assessments, cycle attendance
and ratings (surveys and cycle definitions have no statement and are left out).

Each event's statement id is stable: an event imported from a statement keeps that
statement's id (one statement that became several events, a course completed, gives each a
uuid5 of the id and the module); any other event gets a uuid5 of what it records (kind,
employee, module, cycle, score, details, time) and how many equal events came before it, so
exporting twice, or from a copy of the store (`kb migrate`), gives the same ids, and
importing our own statements back adds nothing. `stored` is when the event was recorded,
which `since` compares against, as an LRS's `since` does.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recommender.state.events import Event
from recommender.xapi.vocabulary import (
    DEFAULT_BASE,
    EXT_CYCLE,
    EXT_DATE,
    EXT_PHASE,
    NAMESPACE,
    VERB_IRIS,
    VERSION,
    activity_iri,
)

EXPORTED_KINDS = ("completion", "assessment", "attendance", "rating")
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
XAPI_DEFAULT_LIMIT, XAPI_MAX_LIMIT = (
    DEFAULT_LIMIT,
    MAX_LIMIT,
)  # as the recommender's face names them


def statement_ids(events: Sequence[Event]) -> Iterator[tuple[Event, str]]:
    """(event, its statement id) for each exported kind of event, in the events' order."""
    per_statement = Counter(str(e.details["xapi_id"]) for e in events if e.details.get("xapi_id"))
    occurrences: Counter[str] = Counter()
    for event in events:
        if event.kind not in EXPORTED_KINDS:
            continue
        imported = event.details.get("xapi_id")
        if imported and per_statement[str(imported)] == 1:
            yield event, str(imported)
        elif imported:
            yield event, str(uuid.uuid5(NAMESPACE, f"{imported}|{event.module}"))
        else:
            key = json.dumps(
                [
                    event.kind,
                    event.employee,
                    event.module,
                    event.cycle,
                    event.score,
                    event.doc_id,
                    event.rating,
                    event.details,
                    event.created_at,
                ],
                sort_keys=True,
                default=str,
            )
            occurrences[key] += 1
            yield event, str(uuid.uuid5(NAMESPACE, f"{key}#{occurrences[key]}"))


@dataclass(frozen=True)
class StatementPage:
    """One page of statements; `after` is the cursor of the next page (None: no more)."""

    statements: list[dict[str, Any]]
    after: int | None

    def to_dict(self, more: str = "") -> dict[str, Any]:
        return {"statements": self.statements, "more": more}


def _after(stamp: str, since: str) -> bool:
    def moment(text: str) -> datetime:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    return moment(stamp) > moment(since)


def export_statements(
    events: Sequence[Event],
    *,
    base: str = DEFAULT_BASE,
    since: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> StatementPage:
    """Statements for `events` (in their order) stored after `since` (an ISO timestamp,
    exclusive) and past the cursor `after` (an event id), at most `limit` of them."""
    if since is not None:
        try:
            _after(since, since)
        except ValueError:
            raise ValueError(f"since '{since}' is not an ISO 8601 timestamp") from None
    out: list[dict[str, Any]] = []
    last: int | None = None
    for event, sid in statement_ids(events):
        if after is not None and (event.id or 0) <= after:
            continue
        if since is not None and not _after(event.created_at, since):
            continue
        if limit is not None and len(out) >= limit:
            return StatementPage(out, last)
        out.append(to_statement(event, sid, base))
        last = event.id
    return StatementPage(out, None)


def to_statement(event: Event, sid: str, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """The statement of one exported event (see the module's docstring)."""
    details = event.details
    statement: dict[str, Any] = {
        "id": sid,
        "actor": {"objectType": "Agent", "account": {"homePage": base, "name": event.employee}},
    }
    result: dict[str, Any] = {}
    context: dict[str, Any] = {}
    verb = "completed"
    if event.kind == "completion":
        verb = str(details.get("verb", "completed"))
        target = activity_iri(base, "modules", event.module or "")
        result["completion"] = True
        if event.score is not None:
            result["score"] = {"scaled": event.score}
        if verb == "passed":
            result["success"] = True
    elif event.kind == "assessment":
        verb = "scored"
        skill = details.get("skill")
        target = (
            activity_iri(base, "skills", str(skill))
            if skill
            else activity_iri(base, "modules", event.module or "")
        )
        score: dict[str, Any] = {"scaled": event.score}
        if details.get("points") is not None and details.get("max_points"):
            score.update(raw=details["points"], min=0, max=details["max_points"])
        result["score"] = score
        context["extensions"] = {EXT_CYCLE: event.cycle, EXT_PHASE: details.get("phase")}
    elif event.kind == "attendance":
        verb = "attended"
        target = activity_iri(
            base, "cycles", event.cycle or "", "sessions", str(details.get("session"))
        )
        result["completion"] = bool(details.get("attended"))
        context["extensions"] = {EXT_CYCLE: event.cycle}
        if details.get("date"):
            context["extensions"][EXT_DATE] = details["date"]
    else:  # rating
        verb = "rated"
        target = activity_iri(base, "documents", event.doc_id or "")
        result["score"] = {"raw": event.rating, "min": 1, "max": 5}
    statement["verb"] = {"id": VERB_IRIS[verb], "display": {"en-US": verb}}
    statement["object"] = {"objectType": "Activity", "id": target}
    if result:
        statement["result"] = result
    if event.cycle and event.kind != "completion":
        context["contextActivities"] = {
            "grouping": [
                {"objectType": "Activity", "id": activity_iri(base, "cycles", event.cycle)}
            ]
        }
    if context:
        statement["context"] = context
    statement["timestamp"] = str(details.get("timestamp") or event.created_at)
    statement["stored"] = event.created_at
    statement["version"] = VERSION
    return statement
