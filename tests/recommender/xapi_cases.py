"""Statements for the xAPI tests and bench/xapi.py: a valid one, and 50 malformed ones, each
with the words its refusal must contain (what is wrong, and where)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

ADL = "http://adlnet.gov/expapi/verbs/"


def valid(n: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid statement: ann completed module m1 at 0.8."""
    statement: dict[str, Any] = {
        "id": str(uuid.UUID(int=n + 1)),
        "actor": {"objectType": "Agent", "mbox": "mailto:ann@corp.example"},
        "verb": {"id": ADL + "completed", "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "https://lms.corp.example/modules/m1"},
        "result": {"score": {"scaled": 0.8}, "completion": True, "duration": "PT1H30M"},
        "timestamp": "2024-05-01T10:00:00Z",
    }
    statement.update(changes)
    return statement


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = statement
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(statement: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = statement
        for part in parents:
            node = node[part]
        del node[last]

    return change


# (what is changed, words the reason must contain)
_CASES: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_drop("actor"), "actor: required"),
    (_drop("verb"), "verb: required"),
    (_drop("object"), "object: required"),
    (_set("actor", {}), "actor: an Agent needs one of mbox"),
    (_set("actor", {"name": "Ann"}), "actor: an Agent needs one of mbox"),
    (_set("actor.mbox", "ann@corp.example"), "must be mailto:"),
    (_set("actor.mbox", "mailto:ann"), "must be mailto:"),
    (_set("actor.mbox", 42), "actor.mbox"),
    (_set("actor.openid", "https://id.example/ann"), "has one identifier, got mbox, openid"),
    (_set("actor", {"mbox_sha1sum": "xyz"}), "40 hexadecimal digits"),
    (_set("actor", {"openid": "not an iri"}), "actor.openid: 'not an iri' is not an IRI"),
    (_set("actor", {"account": {"name": "ann"}}), "actor.account.homePage: required"),
    (_set("actor", {"account": {"homePage": "https://lms"}}), "actor.account.name: required"),
    (_set("actor", {"account": {"homePage": "lms", "name": "a"}}), "homePage: 'lms' is not an IRI"),
    (_set("actor", {"account": {"homePage": "https://lms", "name": ""}}), "actor.account.name"),
    (_set("actor.objectType", "Person"), "actor.objectType"),
    (_set("actor.shoe", 9), "actor.shoe: not a property"),
    (_set("actor", {"objectType": "Group"}), "a Group needs one of mbox"),
    (_set("actor", "ann"), "actor"),
    (_set("verb", {}), "verb.id: required"),
    (_set("verb.id", "completed"), "verb.id: 'completed' is not an IRI"),
    (_set("verb.id", "http://adlnet.gov/expapi/verbs/com pleted"), "is not an IRI"),
    (_set("verb.display", "completed"), "verb.display"),
    (_set("verb.colour", "red"), "verb.colour: not a property"),
    (_set("object", {}), "object.id: required"),
    (_set("object.id", "m1"), "object.id: 'm1' is not an IRI"),
    (_set("object.id", "https://lms/a b"), "is not an IRI"),
    (_set("object.objectType", "Course"), "object.objectType: 'Course' is not one of"),
    (
        _set("object", {"objectType": "StatementRef", "id": "nope"}),
        "object.id: 'nope' is not a UUID",
    ),
    (_set("object.definition", {"type": "course"}), "object.definition.type: 'course' is not"),
    (_set("object.definition", {"name": "Module one"}), "object.definition.name"),
    (_set("object.size", 3), "object.size: not a property"),
    (_set("result.score.scaled", 1.5), "result.score.scaled"),
    (_set("result.score.scaled", -2), "result.score.scaled"),
    (_set("result.score", {"raw": 12, "min": 0, "max": 10}), "raw (12.0) is above max (10.0)"),
    (_set("result.score", {"raw": -1, "min": 0, "max": 10}), "raw (-1.0) is below min (0.0)"),
    (_set("result.score", {"raw": 5, "min": 10, "max": 10}), "min (10.0) must be below max"),
    (_set("result.score.scaled", "high"), "result.score.scaled"),
    (_set("result.success", "yes"), "result.success"),
    (_set("result.completion", "done"), "result.completion"),
    (_set("result.duration", "90 minutes"), "'90 minutes' is not an ISO 8601 duration"),
    (_set("result.duration", "P"), "'P' is not an ISO 8601 duration"),
    (_set("result.grade", "A"), "result.grade: not a property"),
    (_set("context", {"registration": "123"}), "context.registration: '123' is not a UUID"),
    (_set("context", {"extensions": {"cycle": "c1"}}), "'cycle' is not an IRI"),
    (_set("context", {"instructor": {"name": "Tess"}}), "context.instructor: an Agent needs"),
    (_set("timestamp", "yesterday"), "timestamp: 'yesterday' is not an ISO 8601 timestamp"),
    (_set("timestamp", "2024-05-01"), "is not an ISO 8601 timestamp"),
    (_set("id", "12345"), "id: '12345' is not a UUID"),
    (_set("feeling", "great"), "feeling: not a property the xAPI specification defines"),
]
assert len(_CASES) == 50


def malformed() -> list[tuple[dict[str, Any], str]]:
    """50 (statement, words its refusal must contain), each statement with its own id (but
    the one whose id is the fault)."""
    out = []
    for n, (change, words) in enumerate(_CASES):
        statement = copy.deepcopy(valid(1000 + n))
        change(statement)
        out.append((statement, words))
    return out
