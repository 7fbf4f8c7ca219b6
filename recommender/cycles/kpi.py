"""Team KPIs (Kirkpatrick level 4): series imported from CSV, and a cycle's effect on them by
difference-in-differences.

**Import** (`import_kpis`): one row per team, metric and date: `team`, `metric`, `date`
(YYYY-MM-DD), `value` (a number; `82,5` and `82%` read). Every faulty row is named by file
and line and then nothing is imported (the rows of every file go to the store in one
transaction); a file imported before (the same bytes) is skipped; a later value for the same
team, metric and date replaces the earlier one. Each row is a `kpi` event (no employee, no
cycle), so KPIs outlive catalogue reloads like every event.

**Effect** (`team_results`): for each metric, each team's mean in the window before the cycle
(`window_days` before its start) and after it (`window_days` after its end); a team's change
is after - before. The estimate is the participating teams' mean change minus the other
teams' mean change (difference-in-differences on team means), with a 95% interval from
Welch's t-test on the teams' changes (`scipy.stats.ttest_ind`, unequal variances). Teams are
the unit: values inside a team are correlated over time, so counting them one by one would
make the interval far too narrow; collapsing to one change per team is the conservative
choice with few teams. The interval needs at least two teams on each side.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from recommender.catalog.types import Catalog, Cycle
from recommender.cycles.csv_import import MAX_IMPORT_BYTES, MAX_ROWS, ImportFile, ImportInvalidError
from recommender.errors import Fault
from recommender.state.base import RecommenderStore, now_iso
from recommender.state.events import Event

DEFAULT_WINDOW_DAYS = 90
_ALIASES = {
    "team": ("team", "team_id", "group"),
    "metric": ("metric", "kpi", "measure", "indicator"),
    "date": ("date", "day", "period", "week", "month"),
    "value": ("value", "score", "amount", "result"),
}

CAVEATS = (
    "Difference-in-differences compares how the participating teams' KPI moved with how the "
    "other teams' moved over the same windows; it credits the cycle with the difference only if "
    "the two groups would have moved alike without it (parallel trends). The teams before the "
    "cycle are shown so that you can judge that.",
    "Teams were not chosen at random to take part, so anything that came with taking part (a "
    "new manager, a new tool, a team picked because it was struggling) is mixed into the estimate.",
    "With few teams the interval is wide, and it rests on the teams' changes being roughly "
    "normal; fewer than two teams on either side gives no interval at all.",
    "A KPI reflects much more than training; an interval that covers 0 means no change could "
    "be told apart from noise, not that the training did nothing.",
)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class KpiImportReport:
    file: str
    rows: int
    imported: int
    already_imported: bool
    teams: int
    metrics: tuple[str, ...]
    sha256: str


def _read_file(
    file: ImportFile, catalog: Catalog, created_at: str, faults: list[Fault]
) -> list[Event]:
    def fault(where: str, message: str) -> None:
        faults.append(Fault(file.name, where, message))

    if len(file.data) > MAX_IMPORT_BYTES:
        fault("file", f"over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split the file")
        return []
    try:
        text = file.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.data[: exc.start].count(b"\n") + 1
        fault(f"line {line}", "not UTF-8 text; export the file as CSV UTF-8")
        return []
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        fault("line 1", "no header row: the first line must name the columns")
        return []
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        for column, aliases in _ALIASES.items():
            if _norm(name) in aliases and column not in columns:
                columns[column] = index
    missing = [c for c in _ALIASES if c not in columns]
    if missing:
        fault(
            "line 1",
            f"a KPI file needs the columns team, metric, date, value; missing {', '.join(missing)}",
        )
        return []
    digest = hashlib.sha256(file.data).hexdigest()[:16]
    events: list[Event] = []
    seen: dict[tuple[str, str, str], int] = {}
    start = reader.line_num + 1
    rows = 0
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            where = f"line {line}"
            if rows > MAX_ROWS:
                fault(where, f"more than {MAX_ROWS} rows; split the file")
                break
            if len(cells) != len(header):
                fault(where, f"{len(cells)} fields where the header has {len(header)}")
                continue
            team, metric, day, raw = (
                cells[columns[c]].strip() for c in ("team", "metric", "date", "value")
            )
            ok = True
            if team not in catalog.teams:
                fault(where, f"unknown team '{team}'" if team else "no team")
                ok = False
            if not metric or len(metric) > 100:
                fault(where, "no metric" if not metric else "metric over 100 characters")
                ok = False
            try:
                day = dt.date.fromisoformat(day[:10]).isoformat()
            except ValueError:
                fault(where, f"date '{day}' must be written YYYY-MM-DD")
                ok = False
            number = raw.rstrip("%").strip()
            if number.count(",") == 1 and "." not in number:
                number = number.replace(",", ".")
            try:
                value = float(number)
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                fault(where, f"value '{raw}' is not a number")
                ok = False
            if not ok:
                continue
            key = (team, metric, day)
            if key in seen:
                fault(
                    where, f"repeats line {seen[key]} ({metric} of {team} on {day}); keep one row"
                )
                continue
            seen[key] = line
            events.append(
                Event(
                    kind="kpi",
                    employee="",
                    score=value,
                    details={
                        "team": team,
                        "metric": metric,
                        "date": day,
                        "import": digest,
                        "file": file.name,
                        "line": line,
                    },
                    created_at=created_at,
                )
            )
    except csv.Error as exc:
        fault(f"line {reader.line_num}", f"not readable as CSV: {exc}")
    if rows == 0:
        fault("file", "no rows under the header")
    return events


def import_kpis(
    store: RecommenderStore,
    catalog: Catalog,
    files: Sequence[ImportFile],
    clock: Callable[[], str] = now_iso,
) -> list[KpiImportReport]:
    """Check every row of every file, then record them all in one transaction; on any fault
    raise `ImportInvalidError` (each faulty row named by file and line) and record nothing."""
    faults: list[Fault] = []
    created_at = clock()
    done = {str(e.details.get("import")) for e in store.events() if e.kind == "kpi"}
    read = [(file, _read_file(file, catalog, created_at, faults)) for file in files]
    if faults:
        raise ImportInvalidError(faults)
    reports, new = [], []
    for file, events in read:
        digest = hashlib.sha256(file.data).hexdigest()
        again = digest[:16] in done
        if not again:
            new += events
            done.add(digest[:16])
        reports.append(
            KpiImportReport(
                file.name,
                len(events),
                0 if again else len(events),
                again,
                len({e.details["team"] for e in events}),
                tuple(sorted({str(e.details["metric"]) for e in events})),
                digest,
            )
        )
    if new:
        store.add_events(new)
    return reports


def kpi_values(events: Iterable[Event]) -> dict[tuple[str, str, str], float]:
    """(team, metric, date) -> value, the latest import of each winning."""
    out: dict[tuple[str, str, str], float] = {}
    for e in events:
        if e.kind == "kpi" and e.score is not None:
            d = e.details
            out[(str(d.get("team")), str(d.get("metric")), str(d.get("date")))] = e.score
    return out


# -- difference-in-differences ----------------------------------------------------------------


@dataclass(frozen=True)
class TeamKpi:
    team: str
    participating: bool
    before: float
    after: float
    before_points: int
    after_points: int
    change: float  # after - before


@dataclass(frozen=True)
class DidEstimate:
    """The participating teams' mean change minus the others', with its interval."""

    estimate: float | None
    low: float | None
    high: float | None
    participating_change: float | None
    others_change: float | None
    participating_teams: int
    other_teams: int
    method: str
    note: str


@dataclass(frozen=True)
class KpiEffect:
    metric: str
    window_days: int
    before: tuple[str, str]  # the windows, ISO dates inclusive
    after: tuple[str, str]
    teams: tuple[TeamKpi, ...]
    did: DidEstimate


@dataclass(frozen=True)
class TeamResults:
    """The cycle report's "team results" (level 4)."""

    metrics: tuple[KpiEffect, ...]
    caveats: tuple[str, ...]
    note: str


def did_estimate(
    treated: Sequence[float], control: Sequence[float], confidence: float = 0.95
) -> DidEstimate:
    """Difference in mean change between two groups of teams, Welch's interval (scipy)."""
    t_mean = sum(treated) / len(treated) if treated else None
    c_mean = sum(control) / len(control) if control else None
    estimate = None if t_mean is None or c_mean is None else t_mean - c_mean
    method = "difference in mean team change, Welch's t interval (scipy.stats.ttest_ind)"
    if estimate is None:
        side = "participating" if not treated else "other"
        return DidEstimate(
            None,
            None,
            None,
            t_mean,
            c_mean,
            len(treated),
            len(control),
            method,
            f"no {side} team has KPI values both before and after the cycle",
        )
    if len(treated) < 2 or len(control) < 2:
        return DidEstimate(
            estimate,
            None,
            None,
            t_mean,
            c_mean,
            len(treated),
            len(control),
            method,
            "fewer than two teams on one side: no interval can be given",
        )
    spread = max(treated) - min(treated) + max(control) - min(control)
    if spread <= 1e-9 * max(1.0, abs(estimate)):  # no spread (to rounding): no t-test
        return DidEstimate(
            estimate,
            estimate,
            estimate,
            t_mean,
            c_mean,
            len(treated),
            len(control),
            method,
            "every team changed by exactly the same amount within its group",
        )
    from scipy import stats  # loaded only for a report with KPIs

    with warnings.catch_warnings():  # near-equal changes: scipy warns of precision, still right
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(list(treated), list(control), equal_var=False)
        ci = result.confidence_interval(confidence)
    return DidEstimate(
        estimate,
        float(ci.low),
        float(ci.high),
        t_mean,
        c_mean,
        len(treated),
        len(control),
        method,
        "",
    )


def team_results(
    catalog: Catalog,
    cycle: Cycle,
    events: Iterable[Event],
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> TeamResults:
    """Each metric's difference-in-differences for `cycle` (see the module's docstring)."""
    values = kpi_values(events)
    start = dt.date.fromisoformat(cycle.start)
    end = dt.date.fromisoformat(cycle.end)
    before = (start - dt.timedelta(days=window_days), start - dt.timedelta(days=1))
    after = (end + dt.timedelta(days=1), end + dt.timedelta(days=window_days))
    series: dict[str, dict[str, tuple[list[float], list[float]]]] = defaultdict(dict)
    for (team, metric, day), value in values.items():
        when = dt.date.fromisoformat(day)
        pre, post = series[metric].setdefault(team, ([], []))
        if before[0] <= when <= before[1]:
            pre.append(value)
        elif after[0] <= when <= after[1]:
            post.append(value)
    taking = set(cycle.teams)
    effects = []
    for metric in sorted(series):
        teams = []
        for team in sorted(series[metric]):
            pre, post = series[metric][team]
            if pre and post:
                teams.append(
                    TeamKpi(
                        team,
                        team in taking,
                        sum(pre) / len(pre),
                        sum(post) / len(post),
                        len(pre),
                        len(post),
                        sum(post) / len(post) - sum(pre) / len(pre),
                    )
                )
        treated = [t.change for t in teams if t.participating]
        control = [t.change for t in teams if not t.participating]
        effects.append(
            KpiEffect(
                metric,
                window_days,
                (before[0].isoformat(), before[1].isoformat()),
                (after[0].isoformat(), after[1].isoformat()),
                tuple(teams),
                did_estimate(treated, control),
            )
        )
    note = "" if effects else "no KPI values imported (kb cycle kpi import FILE)"
    return TeamResults(tuple(effects), CAVEATS if effects else (), note)


def kpi_summary(events: Iterable[Event]) -> dict[str, Any]:
    """What is stored: per metric, the teams and the date range."""
    values = kpi_values(events)
    out: dict[str, dict[str, Any]] = {}
    for (team, metric, day), _ in sorted(values.items()):
        entry = out.setdefault(
            metric, {"metric": metric, "teams": set(), "from": day, "to": day, "values": 0}
        )
        entry["teams"].add(team)
        entry["from"] = min(entry["from"], day)
        entry["to"] = max(entry["to"], day)
        entry["values"] += 1
    return {"metrics": [{**m, "teams": sorted(m["teams"])} for m in out.values()]}
