"""xAPI statements read and checked against the ADL specification (xAPI 1.0.3, part two).

`read_batch` accepts what a Learning Record Store gives out: a JSON array of statements, a
`StatementResult` (`{"statements": [...], "more": ...}`), a single statement, or JSON lines.
`check_statement` validates one statement with the pydantic model below and returns the
reasons it is not valid (none: it is), each naming the property at fault, so that a batch can
be refused with every bad statement named. Only the parts of the spec that matter for what
we read are modelled in detail (actor, verb, object, result, context, timestamp); the other
properties a statement may carry (authority, stored, version, attachments) are accepted as
the spec allows, and a property the spec does not define is refused, as an LRS refuses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

# An IRI as the spec uses them: a scheme, a colon, then something without spaces.
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_MBOX = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
# ISO 8601 durations, as the spec's `result.duration` is written (PT1H30M, P1DT2H, PT0.5S).
_DURATION = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
)
# ISO 8601 timestamps: a date, a time, optionally fractions and an offset.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$")
MAX_BATCH_BYTES = 50 * 1024 * 1024
MAX_STATEMENTS = 100_000


def _iri(value: str) -> str:
    if not _IRI.match(value):
        raise ValueError(f"'{value[:80]}' is not an IRI (it needs a scheme such as https:)")
    return value


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError(f"'{value[:80]}' is not a UUID")
    return value.lower()


def _duration(value: str) -> str:
    if not _DURATION.match(value):
        raise ValueError(f"'{value[:80]}' is not an ISO 8601 duration such as PT1H30M")
    return value


def _timestamp(value: str) -> str:
    if not _TIMESTAMP.match(value):
        raise ValueError(f"'{value[:80]}' is not an ISO 8601 timestamp such as 2026-03-01T09:30Z")
    return value


Iri = Annotated[str, AfterValidator(_iri)]
Uuid = Annotated[str, AfterValidator(_uuid)]
Duration = Annotated[str, AfterValidator(_duration)]
Timestamp = Annotated[str, AfterValidator(_timestamp)]
LanguageMap = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Account(_Strict):
    homePage: Iri
    name: str = Field(min_length=1)


class Agent(_Strict):
    """An Agent (or, without members, a Group) identified by exactly one inverse functional
    identifier; an anonymous Group lists its members instead."""

    objectType: Literal["Agent", "Group"] = "Agent"
    name: str | None = None
    mbox: str | None = None
    mbox_sha1sum: str | None = None
    openid: Iri | None = None
    account: Account | None = None
    member: list[Agent] | None = None

    def _a(self) -> str:
        return "an Agent" if self.objectType == "Agent" else "a Group"

    @model_validator(mode="after")
    def _one_identifier(self) -> Agent:
        given = [
            name
            for name in ("mbox", "mbox_sha1sum", "openid", "account")
            if getattr(self, name) is not None
        ]
        if self.mbox is not None and not _MBOX.match(self.mbox):
            raise ValueError(f"mbox '{self.mbox[:80]}' must be mailto:address@domain")
        if self.mbox_sha1sum is not None and not _SHA1.match(self.mbox_sha1sum):
            raise ValueError("mbox_sha1sum must be 40 hexadecimal digits (SHA-1 of the mbox)")
        if len(given) > 1:
            raise ValueError(f"{self._a()} has one identifier, got {', '.join(given)}")
        if not given and not (self.objectType == "Group" and self.member):
            raise ValueError(f"{self._a()} needs one of mbox, mbox_sha1sum, openid or account")
        return self


class Verb(_Strict):
    id: Iri
    display: LanguageMap | None = None


class ActivityDefinition(_Strict):
    name: LanguageMap | None = None
    description: LanguageMap | None = None
    type: Iri | None = None
    moreInfo: Iri | None = None
    extensions: dict[Iri, Any] | None = None
    # interaction activities (questions): accepted as given
    interactionType: str | None = None
    correctResponsesPattern: list[str] | None = None
    choices: list[Any] | None = None
    scale: list[Any] | None = None
    source: list[Any] | None = None
    target: list[Any] | None = None
    steps: list[Any] | None = None


class Activity(_Strict):
    objectType: Literal["Activity"] = "Activity"
    id: Iri
    definition: ActivityDefinition | None = None


class StatementRef(_Strict):
    objectType: Literal["StatementRef"]
    id: Uuid


class Score(_Strict):
    scaled: float | None = Field(default=None, ge=-1.0, le=1.0)
    raw: float | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _in_range(self) -> Score:
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.raw is not None:
            if self.min is not None and self.raw < self.min:
                raise ValueError(f"raw ({self.raw}) is below min ({self.min})")
            if self.max is not None and self.raw > self.max:
                raise ValueError(f"raw ({self.raw}) is above max ({self.max})")
        return self


class Result(_Strict):
    score: Score | None = None
    success: bool | None = None
    completion: bool | None = None
    response: str | None = None
    duration: Duration | None = None
    extensions: dict[Iri, Any] | None = None


class ContextActivities(_Strict):
    parent: Activity | list[Activity] | None = None
    grouping: Activity | list[Activity] | None = None
    category: Activity | list[Activity] | None = None
    other: Activity | list[Activity] | None = None


class Context(_Strict):
    registration: Uuid | None = None
    instructor: Agent | None = None
    team: Agent | None = None
    contextActivities: ContextActivities | None = None
    revision: str | None = None
    platform: str | None = None
    language: str | None = None
    statement: StatementRef | None = None
    extensions: dict[Iri, Any] | None = None


class SubStatement(_Strict):
    objectType: Literal["SubStatement"]
    actor: Agent
    verb: Verb
    object: Activity | Agent | StatementRef
    result: Result | None = None
    context: Context | None = None
    timestamp: Timestamp | None = None


class Statement(_Strict):
    """One statement; `object` an Activity unless its objectType says otherwise."""

    id: Uuid | None = None
    actor: Agent
    verb: Verb
    object: Activity | Agent | StatementRef | SubStatement = Field(union_mode="left_to_right")
    result: Result | None = None
    context: Context | None = None
    timestamp: Timestamp | None = None
    stored: Timestamp | None = None
    authority: Agent | None = None
    version: str | None = None
    attachments: list[dict[str, Any]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _object_type(cls, data: Any) -> Any:
        """Choose the object's model by its objectType (Activity when absent), so that an
        error names what is wrong with it rather than every kind it failed to be."""
        if isinstance(data, dict) and isinstance(data.get("object"), dict):
            kind = data["object"].get("objectType", "Activity")
            if kind not in ("Activity", "Agent", "Group", "StatementRef", "SubStatement"):
                raise ValueError(
                    f"object: objectType '{kind}' is not one of Activity, Agent, Group, "
                    "StatementRef, SubStatement"
                )
        return data


_OBJECT_MODELS: dict[str, type[BaseModel]] = {
    "Activity": Activity,
    "Agent": Agent,
    "Group": Agent,
    "StatementRef": StatementRef,
    "SubStatement": SubStatement,
}


def _reasons(error: ValidationError, prefix: str = "") -> list[str]:
    out = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function"))
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "not a property the xAPI specification defines"
        elif item["type"] == "missing":
            message = "required"
        where = f"{prefix}{where}" if where else prefix.rstrip(".")
        out.append(f"{where}: {message}" if where else message)
    return list(dict.fromkeys(out))


def check_statement(data: Any) -> tuple[Statement | None, list[str]]:
    """The statement and no reasons, or None and every reason it is not a valid statement."""
    if not isinstance(data, dict):
        return None, [f"a statement is a JSON object, got {type(data).__name__}"]
    try:  # the common case, valid, costs one validation
        return Statement.model_validate(data), []
    except ValidationError as exc:
        first = exc
    obj = data.get("object")
    if isinstance(obj, dict):  # check the object as its own kind first: clearer reasons
        model = _OBJECT_MODELS.get(str(obj.get("objectType", "Activity")))
        rest = {k: v for k, v in data.items() if k != "object"}
        try:
            if model is None:
                raise ValueError(
                    f"object.objectType: '{obj.get('objectType')}' is not one of "
                    "Activity, Agent, Group, StatementRef, SubStatement"
                )
            model.model_validate(obj)
        except (ValidationError, ValueError) as exc:
            reasons = _reasons(exc, "object.") if isinstance(exc, ValidationError) else [str(exc)]
            try:
                Statement.model_validate({**rest, "object": {"id": "urn:x"}})
            except ValidationError as other:
                reasons += _reasons(other)
            return None, reasons
    return None, _reasons(first)


class BatchUnreadable(ValueError):
    """The bytes are not JSON (nor JSON lines) holding statements."""


def read_batch(data: bytes) -> list[Any]:
    """The statements in `data`, unchecked: a JSON array, a StatementResult, one statement,
    or JSON lines (one statement per line). Raises `BatchUnreadable` with where and why."""
    if len(data) > MAX_BATCH_BYTES:
        raise BatchUnreadable(
            f"the batch is {len(data):,} bytes, over {MAX_BATCH_BYTES:,}: split it"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchUnreadable(f"not UTF-8 text (byte {exc.start}): {exc.reason}") from None
    if not text.strip():
        raise BatchUnreadable("the batch is empty: give a JSON array of statements")
    statements: Sequence[Any]
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as first:
        statements = _json_lines(text, first)
    else:
        if isinstance(whole, list):
            statements = whole
        elif isinstance(whole, dict) and isinstance(whole.get("statements"), list):
            statements = whole["statements"]
        elif isinstance(whole, dict):
            statements = [whole]
        else:
            raise BatchUnreadable(
                f"a batch is a JSON array of statements, got {type(whole).__name__}"
            )
    if len(statements) > MAX_STATEMENTS:
        raise BatchUnreadable(
            f"{len(statements):,} statements, over {MAX_STATEMENTS:,} per batch: split it"
        )
    return list(statements)


def _json_lines(text: str, first: json.JSONDecodeError) -> list[Any]:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) < 2:
        raise BatchUnreadable(f"not JSON: {first.msg} at line {first.lineno} column {first.colno}")
    out = []
    for number, line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BatchUnreadable(
                f"line {number} is not JSON ({exc.msg} at column {exc.colno}); a batch is a "
                "JSON array, a StatementResult or one statement per line"
            ) from None
    return out
