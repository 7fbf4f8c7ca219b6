"""Importing a cycle's results from the CSV files quiz, exam and survey tools export.

Three kinds of file, told apart by their columns (or named with `kind`):

- **assessment**: one row per participant, phase and skill (or module): `employee`,
  `phase` (pre or post), `skill` or `module`, `score`, optionally `max_score` (without it the
  score is a percentage) and `taken_at`;
- **survey**: one row per participant: `employee`, a 1-5 rating per fixed question
  (`cycles.SURVEY_QUESTIONS`: relevance, clarity, pace, materials, confidence; blank when not
  answered; "strongly disagree" .. "strongly agree" read as 1..5) and `comment`;
- **attendance**: one row per participant and session: `employee`, `session`, `attended`
  (yes/no, present/absent, 1/0, ...) and optionally `date`.

Other columns (names, e-mail addresses, durations) are ignored. Every faulty row is named by
its line number, and a file with any fault imports nothing: the rows of all the files given
together go to the store in one transaction. A file already imported into the cycle (the
same bytes) is recognised by its SHA-256 and not imported twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from recommender.catalog.types import Catalog, Cycle
from recommender.cycles.followup import FOLLOWUP_QUESTIONS, check_followup
from recommender.cycles.replay import SURVEY_QUESTIONS, taught_level
from recommender.errors import FAULTS_SHOWN, Fault, InvalidValueError, RecommenderError
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import Event

ImportKind = Literal["assessment", "survey", "attendance"]
IMPORT_KINDS: tuple[str, ...] = get_args(ImportKind)
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
COMMENT_MAX = 2000

# Column names as tools write them, normalised (lower case, runs of spaces, dashes, dots and
# slashes as one underscore) -> the column they stand for.
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "employee": (
        "employee",
        "employee_id",
        "username",
        "user",
        "user_id",
        "participant",
        "learner",
        "login",
    ),
    "phase": ("phase", "stage", "assessment_phase"),
    "skill": ("skill", "skill_id"),
    "module": ("module", "module_id"),
    "score": ("score", "points", "grade", "marks", "result"),
    "max_score": (
        "max_score",
        "max",
        "max_points",
        "out_of",
        "maximum",
        "possible",
        "total_points",
    ),
    "taken_at": (
        "taken_at",
        "submitted_at",
        "completed_at",
        "completed",
        "finished",
        "date",
        "timestamp",
    ),
    "comment": ("comment", "comments", "feedback", "free_text", "remarks"),
    "submitted_at": ("submitted_at", "timestamp", "date", "completed_at"),
    "session": ("session", "session_id", "day", "lesson"),
    "attended": ("attended", "present", "status", "attendance"),
    "date": ("date", "session_date"),
    **{q.id: (q.id, f"q_{q.id}") for q in SURVEY_QUESTIONS},
}
_SURVEY_IDS = {q.id for q in SURVEY_QUESTIONS}
_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "assessment": ("employee", "phase", "skill", "module", "score", "max_score", "taken_at"),
    "survey": ("employee", *(q.id for q in SURVEY_QUESTIONS), "comment", "submitted_at"),
    "attendance": ("employee", "session", "attended", "date"),
}
_PHASES = {
    "pre": "pre",
    "pre_test": "pre",
    "pretest": "pre",
    "before": "pre",
    "baseline": "pre",
    "post": "post",
    "post_test": "post",
    "posttest": "post",
    "after": "post",
    "final": "post",
}
_LIKERT = {
    "strongly_disagree": 1,
    "disagree": 2,
    "neutral": 3,
    "neither_agree_nor_disagree": 3,
    "agree": 4,
    "strongly_agree": 5,
}
_ATTENDED = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "present": True,
    "attended": True,
    "late": True,
    "x": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "absent": False,
    "excused": False,
    "missed": False,
}


def _norm(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", name.strip().lower()).strip("_")


class ImportInvalidError(RecommenderError):
    """Files with faults; carries every one (the first FAULTS_SHOWN); nothing was imported."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self.total = len(faults)
        self.faults = tuple(faults[:FAULTS_SHOWN])
        lines = [f"{self.total} fault(s); nothing was imported:"]
        lines += [f"  - {fault}" for fault in self.faults]
        if self.total > len(self.faults):
            lines.append(f"  ... and {self.total - len(self.faults)} more like these")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class ImportFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class ImportReport:
    """What one file brought: its kind, rows, and whether it had been imported already."""

    cycle: str
    file: str
    kind: str
    rows: int
    imported: int  # events recorded now (0 when the file was imported before)
    already_imported: bool
    participants: int
    ignored_columns: tuple[str, ...] = ()
    sha256: str = ""


@dataclass
class _Parsed:
    kind: str
    events: list[Event] = field(default_factory=list)
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowupForm:
    """Answers to one form (self or manager) of a scheduled follow-up survey."""

    followup: str  # its id, "d30"
    form: str  # "self" or "manager"


class _FileReader:
    """One file's rows checked against the cycle; faults collected, not raised."""

    def __init__(
        self,
        file: ImportFile,
        catalog: Catalog,
        cycle: Cycle,
        faults: list[Fault],
        followup: FollowupForm | None = None,
    ):
        self.file = file
        self.catalog = catalog
        self.cycle = cycle
        self.faults = faults
        self.digest = hashlib.sha256(file.data).hexdigest()
        self.followup = followup
        self.questions = FOLLOWUP_QUESTIONS if followup else SURVEY_QUESTIONS
        self.aliases: Mapping[str, tuple[str, ...]] = (
            {
                **{k: v for k, v in _ALIASES.items() if k not in _SURVEY_IDS},
                **{q.id: (q.id, f"q_{q.id}") for q in FOLLOWUP_QUESTIONS},
                "rater": ("manager", "manager_id", "rater", "answered_by"),
            }
            if followup
            else _ALIASES
        )

    def fault(self, where: str, message: str) -> None:
        self.faults.append(Fault(self.file.name, where, message))

    def read(self, kind: str | None, created_at: str) -> _Parsed | None:
        text = self._text()
        if text is None:
            return None
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            self.fault("line 1", "no header row: the first line must name the columns")
            return None
        delimiter = max(",;\t", key=lines[0].count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader)
        columns, ignored = self._columns(header)
        kind = self._kind(kind, columns)
        if kind is None:
            return None
        parsed = _Parsed(kind=kind, ignored=ignored)
        row_reader = {
            "assessment": self._assessment,
            "survey": self._survey,
            "attendance": self._attendance,
        }[kind]
        seen: dict[tuple[Any, ...], int] = {}
        start = reader.line_num + 1
        rows = 0
        try:
            for cells in reader:
                line, start = start, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                rows += 1
                if rows > MAX_ROWS:
                    self.fault(f"line {line}", f"more than {MAX_ROWS} rows; split the file")
                    break
                if len(cells) != len(header):
                    self.fault(
                        f"line {line}",
                        f"{len(cells)} fields where the header has {len(header)}",
                    )
                    continue
                values = {name: cells[index].strip() for name, index in columns.items()}
                before = len(self.faults)
                event = row_reader(f"line {line}", values, created_at)
                if event is None or len(self.faults) > before:
                    continue
                key = self._key(event)
                if key in seen:
                    self.fault(
                        f"line {line}",
                        f"repeats line {seen[key]} ({self._describe(event)}); keep one row",
                    )
                    continue
                seen[key] = line
                provenance = {"import": self.digest[:16], "file": self.file.name, "line": line}
                parsed.events.append(replace(event, details={**event.details, **provenance}))
        except csv.Error as exc:
            self.fault(f"line {reader.line_num}", f"not readable as CSV: {exc}")
        if rows == 0:
            self.fault("file", "no rows under the header")
        return parsed

    # -- the file ------------------------------------------------------------------------------

    def _text(self) -> str | None:
        if len(self.file.data) > MAX_IMPORT_BYTES:
            self.fault("file", f"over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split the file")
            return None
        if b"\x00" in self.file.data:
            self.fault("file", "not a text file (it holds NUL bytes); export it as CSV")
            return None
        try:
            return self.file.data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = self.file.data[: exc.start].count(b"\n") + 1
            self.fault(f"line {line}", "not UTF-8 text; export the file as CSV UTF-8")
            return None

    def _columns(self, header: list[str]) -> tuple[dict[str, int], tuple[str, ...]]:
        """Our column name -> its index (the first column with a known alias), and the rest."""
        columns: dict[str, int] = {}
        ignored = []
        for index, name in enumerate(header):
            norm = _norm(name)
            found = False
            for column, aliases in self.aliases.items():
                if norm in aliases and column not in columns:
                    columns[column] = index
                    found = True
            if not found and name.strip():
                ignored.append(name.strip())
        return columns, tuple(ignored)

    def _kind(self, asked: str | None, columns: Mapping[str, int]) -> str | None:
        if self.followup is not None:  # a follow-up form is a survey of its own questions
            if "employee" in columns and (
                "comment" in columns or any(q.id in columns for q in self.questions)
            ):
                return "survey"
            self.fault(
                "line 1",
                "a follow-up file needs the columns employee and one or more of "
                + ", ".join([*(q.id for q in self.questions), "comment"]),
            )
            return None
        questions = [q.id for q in SURVEY_QUESTIONS if q.id in columns]
        assessment = {"employee", "phase", "score"} <= columns.keys() and bool(
            {"skill", "module"} & columns.keys()
        )
        attendance = {"employee", "session", "attended"} <= columns.keys()
        comments_only = "comment" in columns and not (assessment or attendance)
        shape = {
            "assessment": assessment,
            "survey": "employee" in columns and bool(questions or comments_only),
            "attendance": attendance,
        }
        needs = {
            "assessment": "employee, phase, skill (or module), score and optionally max_score",
            "survey": "employee and one or more of "
            + ", ".join([*(q.id for q in SURVEY_QUESTIONS), "comment"]),
            "attendance": "employee, session, attended and optionally date",
        }
        if asked is not None:
            if not shape[asked]:
                article = "an" if asked[0] in "aeiou" else "a"
                self.fault("line 1", f"{article} {asked} file needs the columns {needs[asked]}")
                return None
            kind = asked
        else:
            kinds = [k for k in IMPORT_KINDS if shape[k]]
            if len(kinds) != 1:
                listed = "; ".join(f"{k}: {needs[k]}" for k in IMPORT_KINDS)
                why = "matches several kinds" if kinds else "has none of the expected columns"
                self.fault(
                    "line 1",
                    f"cannot tell what the file holds (its header {why}); the columns are "
                    f"{listed}. Name the kind (--kind) if the header is right.",
                )
                return None
            kind = kinds[0]
        if kind == "assessment" and {"skill", "module"} <= columns.keys():
            self.fault(
                "line 1",
                "has both a skill and a module column; a file scores either skills or modules",
            )
            return None
        return kind

    # -- rows ----------------------------------------------------------------------------------

    def _participant(self, where: str, value: str) -> str | None:
        if not value:
            self.fault(where, "no employee id")
            return None
        if value not in self.catalog.employees:
            self.fault(where, f"unknown employee '{value}'")
            return None
        if value not in self.cycle.participants:
            self.fault(where, f"'{value}' is not a participant of cycle '{self.cycle.id}'")
            return None
        return value

    def _number(self, where: str, name: str, value: str) -> float | None:
        if value.count(",") == 1 and "." not in value:  # a decimal comma: 17,5
            value = value.replace(",", ".")
        try:
            number = float(value)
        except ValueError:
            self.fault(where, f"{name} '{value}' is not a number")
            return None
        if not math.isfinite(number):
            self.fault(where, f"{name} '{value}' is not a number")
            return None
        return number

    def _assessment(self, where: str, row: Mapping[str, str], created_at: str) -> Event | None:
        employee = self._participant(where, row.get("employee", ""))
        phase = _PHASES.get(_norm(row.get("phase", "")))
        if phase is None:
            self.fault(where, f"phase '{row.get('phase', '')}' must be pre or post")
        skill = row.get("skill")
        module = row.get("module")
        if skill is not None:
            if not skill:
                self.fault(where, "no skill")
            elif skill not in self.catalog.skills:
                self.fault(where, f"unknown skill '{skill}'")
            elif not taught_level(self.catalog, self.cycle, skill):
                self.fault(where, f"skill '{skill}' is not taught by the cycle's modules")
        if module is not None:
            if not module:
                self.fault(where, "no module")
            elif module not in self.cycle.modules:
                self.fault(
                    where,
                    f"module '{module}' is not one of the cycle's modules "
                    f"({', '.join(self.cycle.modules)})",
                )
        score = self._score(where, row.get("score", ""), row.get("max_score"))
        if employee is None or phase is None or score is None:
            return None
        points, most = score
        details: dict[str, Any] = {"phase": phase}
        if skill is not None:
            details["skill"] = skill
        details.update(points=points, max_points=most)
        taken = row.get("taken_at")
        if taken:
            details["taken_at"] = taken
        return Event(
            kind="assessment",
            employee=employee,
            cycle=self.cycle.id,
            module=module or None,
            score=round(points / most, 6),
            details=details,
            created_at=created_at,
        )

    def _score(self, where: str, raw: str, raw_max: str | None) -> tuple[float, float] | None:
        if not raw:
            self.fault(where, "no score")
            return None
        percent = raw.endswith("%")
        points = self._number(where, "score", raw.rstrip("%").strip())
        if points is None:
            return None
        most = 100.0
        if raw_max and not percent:
            found = self._number(where, "max_score", raw_max)
            if found is None:
                return None
            if found <= 0:
                self.fault(where, f"max_score {raw_max} must be above 0")
                return None
            most = found
        if not 0 <= points <= most:
            self.fault(where, f"score {raw} is outside 0..{most:g}")
            return None
        return points, most

    def _survey(self, where: str, row: Mapping[str, str], created_at: str) -> Event | None:
        employee = self._participant(where, row.get("employee", ""))
        answers: dict[str, int] = {}
        for question in self.questions:
            value = row.get(question.id, "")
            if not value:
                continue
            rating = _LIKERT.get(_norm(value))
            if rating is None and re.fullmatch(r"[1-5](\.0)?", value):
                rating = int(float(value))
            if rating is None:
                self.fault(where, f"{question.id} '{value}' must be a rating 1..5 (or blank)")
            else:
                answers[question.id] = rating
        comment = " ".join(row.get("comment", "").split())
        if len(comment) > COMMENT_MAX:
            self.fault(where, f"comment over {COMMENT_MAX} characters")
        if not answers and not comment and employee is not None:
            self.fault(where, "no rating and no comment")
        if employee is None:
            return None
        details: dict[str, Any] = {"answers": answers}
        if comment:
            details["comment"] = comment
        if row.get("submitted_at"):
            details["submitted_at"] = row["submitted_at"]
        if self.followup is not None:
            details.update(followup=self.followup.followup, form=self.followup.form)
            if row.get("rater"):
                details["rater"] = row["rater"]
        return Event(
            kind="survey",
            employee=employee,
            cycle=self.cycle.id,
            details=details,
            created_at=created_at,
        )

    def _attendance(self, where: str, row: Mapping[str, str], created_at: str) -> Event | None:
        employee = self._participant(where, row.get("employee", ""))
        session = row.get("session", "")
        if not session:
            self.fault(where, "no session")
        elif len(session) > 100:
            self.fault(where, "session over 100 characters")
        attended = _ATTENDED.get(_norm(row.get("attended", "")))
        if attended is None:
            self.fault(
                where,
                f"attended '{row.get('attended', '')}' must be yes or no (present/absent, 1/0)",
            )
        day = row.get("date", "")
        if day:
            try:
                day = dt.date.fromisoformat(day[:10]).isoformat()
            except ValueError:
                self.fault(where, f"date '{day}' must be written YYYY-MM-DD")
        if employee is None or attended is None or not session:
            return None
        details: dict[str, Any] = {"session": session, "attended": attended}
        if day:
            details["date"] = day
        return Event(
            kind="attendance",
            employee=employee,
            cycle=self.cycle.id,
            score=1.0 if attended else 0.0,
            details=details,
            created_at=created_at,
        )

    @staticmethod
    def _key(event: Event) -> tuple[Any, ...]:
        d = event.details
        return (event.employee, d.get("phase"), d.get("skill"), event.module, d.get("session"))

    @staticmethod
    def _describe(event: Event) -> str:
        d = event.details
        if event.kind == "assessment":
            what = d.get("skill") or event.module
            return f"{d.get('phase')} result of {event.employee} in {what}"
        if event.kind == "attendance":
            return f"{event.employee} in session {d.get('session')}"
        return f"{event.employee}'s answers"


def import_results(
    store: RecommenderStore,
    catalog: Catalog,
    cycle_id: str,
    files: Sequence[ImportFile],
    kind: str | None = None,
    clock: Callable[[], str] = now_iso,
    followup: FollowupForm | None = None,
) -> list[ImportReport]:
    """Check every row of every file, then record them all in one transaction; on any fault
    raise `ImportInvalidError` (each faulty row named by file and line) and record nothing.

    With `followup`, the files hold answers to that form of a scheduled follow-up survey
    (`recommender.cycles.followup`): survey rows of the follow-up questions."""
    if kind is not None and kind not in IMPORT_KINDS:
        raise InvalidValueError(f"kind must be one of {', '.join(IMPORT_KINDS)}, got '{kind}'")
    cycle = catalog.cycle(cycle_id)
    if followup is not None:
        if kind not in (None, "survey"):
            raise InvalidValueError("follow-up answers are survey rows; leave out --kind")
        check_followup(cycle, store.events(cycle=cycle.id), followup.followup, followup.form)
    faults: list[Fault] = []
    created_at = clock()
    done = {
        str(e.details.get("import"))
        for e in store.events(cycle=cycle.id)
        if e.kind in IMPORT_KINDS and e.details.get("import")
    }
    parsed: list[tuple[ImportFile, _FileReader, _Parsed | None]] = []
    for file in files:
        reader = _FileReader(file, catalog, cycle, faults, followup)
        parsed.append((file, reader, reader.read(kind, created_at)))
    if faults:
        raise ImportInvalidError(faults)
    reports = []
    new_events: list[Event] = []
    for file, reader, result in parsed:
        assert result is not None  # no faults: every file was read
        again = reader.digest[:16] in done
        if not again:
            new_events += result.events
            done.add(reader.digest[:16])
        reports.append(
            ImportReport(
                cycle=cycle.id,
                file=file.name,
                kind=result.kind,
                rows=len(result.events),
                imported=0 if again else len(result.events),
                already_imported=again,
                participants=len({e.employee for e in result.events}),
                ignored_columns=result.ignored,
                sha256=reader.digest,
            )
        )
    if new_events:
        store.add_events(new_events)
    return reports
