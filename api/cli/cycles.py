"""`kb cycle list | import | report | followup | kpi | gains`: training cycles, their
results and their effect, follow-up surveys and team KPIs (levels 3 and 4), and the gain each
module proved.

Cycles come from the catalogue's `cycles.yaml` (or the HTTP API); results are imported from
the CSV files quiz, exam and survey tools export. Recommender errors are sentences (exit
status 2), as for the other recommender commands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
import numpy as np

from api.cli.common import CliContext, CliError, emit_json, to_json
from api.cli.recommender import recommender_session
from recommender import (
    FORMS,
    IMPORT_KINDS,
    FollowupForm,
    ImportFile,
    ImportInvalidError,
    build_report,
    current_catalog,
    gain_evidence,
    import_kpis,
    import_results,
    kpi_summary,
    list_cycles,
    load_cycle_state,
    now_iso,
    schedule_followup,
    scheduled,
    to_html,
    to_markdown,
)

REPORT_FORMATS = ("md", "html", "json")


class _LazyEncoder:
    """The knowledge base's model, loaded only if there are comments to group."""

    def __init__(self, cli: CliContext) -> None:
        self._cli = cli

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        embedder = self._cli.embedder or self._cli.open_kb().embedder
        return embedder.encode_documents(list(texts))


@click.group("cycle")
def cycle_group() -> None:
    """Training cycles: list them, import their results, report their effect."""


@cycle_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every cycle, latest first, with its figure of merit once results are in."""
    with recommender_session(ctx) as (_, store):
        cycles = list_cycles(load_cycle_state(store))
    if as_json:
        emit_json({"cycles": cycles})
        return
    if not cycles:
        click.echo("No cycles: add cycles.yaml to the catalogue folder (or POST /cycles).")
        return
    for c in cycles:
        merit = "no results yet" if c.figure_of_merit is None else f"merit {c.figure_of_merit:g}"
        trainers = ", ".join(t.name for t in c.trainers)
        click.echo(
            f"{c.id}  {c.start}..{c.end}  {c.format}, {c.hours:g} h, {c.participants} "
            f"participants, {trainers}: {merit}"
        )
        click.echo(f"    {c.title}")


@cycle_group.command("import")
@click.argument("cycle")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--kind",
    type=click.Choice(IMPORT_KINDS),
    default=None,
    help="What the files hold [default: told by their columns].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def import_cmd(
    ctx: click.Context, cycle: str, files: tuple[Path, ...], kind: str | None, as_json: bool
) -> None:
    """Import CYCLE's assessment, survey or attendance results from CSV FILES.

    Every faulty row is named with its line number and then nothing is imported; the rows of
    all FILES are recorded together, in one transaction. A file imported before is skipped.
    """
    loaded = [ImportFile(path.name, path.read_bytes()) for path in files]
    with recommender_session(ctx) as (_, store):
        try:
            reports = import_results(store, current_catalog(store), cycle, loaded, kind)
        except ImportInvalidError as exc:
            if as_json:
                emit_json({"imported": False, "faults": [f.to_dict() for f in exc.faults]})
            raise CliError(str(exc)) from None
    if as_json:
        emit_json({"imported": True, "files": reports})
        return
    for r in reports:
        if r.already_imported:
            click.echo(f"{r.file}: imported before ({r.rows} {r.kind} rows); nothing to do.")
        else:
            click.echo(
                f"{r.file}: {r.imported} {r.kind} rows of {r.participants} participant(s) "
                f"imported into {r.cycle}."
            )
        if r.ignored_columns:
            click.echo(f"    columns ignored: {', '.join(r.ignored_columns)}")


@cycle_group.command("report")
@click.argument("cycle")
@click.option(
    "--window-days",
    type=click.IntRange(1, 730),
    default=90,
    show_default=True,
    help="Team results: the KPI window before the cycle's start and after its end.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="md",
    show_default=True,
    help="Markdown, a self-contained HTML page, or JSON.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as --format json).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the report to this file instead of printing it.",
)
@click.pass_context
def report_cmd(
    ctx: click.Context,
    cycle: str,
    window_days: int,
    fmt: str,
    as_json: bool,
    output: Path | None,
) -> None:
    """The effect of CYCLE: levels before and after per skill, weighted gain, the figure of
    merit beside earlier cycles, completion, attendance, pass rate, survey, follow-up, applied
    at work (follow-up surveys) and team results (KPIs, difference-in-differences)."""
    with recommender_session(ctx) as (cli, store):
        report = build_report(
            load_cycle_state(store), cycle, _LazyEncoder(cli), window_days=window_days
        )
    if as_json or fmt == "json":
        if output is None:
            emit_json(report)
            return
        output.write_text(json.dumps(to_json(report), ensure_ascii=False, indent=2) + "\n")
    else:
        text = (to_markdown if fmt == "md" else to_html)(report, generated=now_iso()[:10])
        if output is None:
            click.echo(text, nl=False)
            return
        output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote the report of {cycle} to {output}.")


# -- follow-up surveys (level 3) --------------------------------------------------------------


@cycle_group.group("followup")
def followup_group() -> None:
    """Follow-up surveys weeks after a cycle: do people apply what they learned?"""


@followup_group.command("schedule")
@click.argument("cycle")
@click.option(
    "--days",
    "days",
    type=int,
    multiple=True,
    required=True,
    help="Days after the cycle's end (repeat: --days 30 --days 90).",
)
@click.option(
    "--form",
    "forms",
    type=click.Choice(FORMS),
    multiple=True,
    help="Who answers (repeat) [default: self and manager].",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def followup_schedule_cmd(
    ctx: click.Context, cycle: str, days: tuple[int, ...], forms: tuple[str, ...], as_json: bool
) -> None:
    """Schedule follow-up surveys of CYCLE, each DAYS after its end; scheduling the same
    days again replaces that follow-up's forms."""
    with recommender_session(ctx) as (_, store):
        made = schedule_followup(store, current_catalog(store), cycle, days, forms or FORMS)
    if as_json:
        emit_json({"cycle": cycle, "followups": made})
        return
    for f in made:
        click.echo(f"{cycle}: follow-up {f.id} due {f.due} ({', '.join(f.forms)} form).")
        click.echo(f"    import its answers: kb cycle followup import {cycle} {f.id} FILE...")


@followup_group.command("list")
@click.argument("cycle")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def followup_list_cmd(ctx: click.Context, cycle: str, as_json: bool) -> None:
    """CYCLE's scheduled follow-ups, soonest first."""
    with recommender_session(ctx) as (_, store):
        found = scheduled(current_catalog(store).cycle(cycle), store.events(cycle=cycle))
    if as_json:
        emit_json({"cycle": cycle, "followups": found})
        return
    if not found:
        click.echo(
            f"No follow-up scheduled for {cycle}: kb cycle followup schedule {cycle} --days 30"
        )
    for f in found:
        click.echo(f"{f.id}: {f.days} days after the end, due {f.due} ({', '.join(f.forms)} form)")


@followup_group.command("import")
@click.argument("cycle")
@click.argument("followup")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--form",
    type=click.Choice(FORMS),
    default="self",
    show_default=True,
    help="Which form the files answer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def followup_import_cmd(
    ctx: click.Context,
    cycle: str,
    followup: str,
    files: tuple[Path, ...],
    form: str,
    as_json: bool,
) -> None:
    """Import answers to FOLLOWUP (its id, e.g. d30) of CYCLE from CSV FILES: employee, the
    questions applied, frequency, impact, support (1-5), comment; for the manager form the
    employee rated, and optionally manager. All or nothing, as `kb cycle import`."""
    loaded = [ImportFile(path.name, path.read_bytes()) for path in files]
    with recommender_session(ctx) as (_, store):
        try:
            reports = import_results(
                store,
                current_catalog(store),
                cycle,
                loaded,
                followup=FollowupForm(followup, form),
            )
        except ImportInvalidError as exc:
            if as_json:
                emit_json({"imported": False, "faults": [f.to_dict() for f in exc.faults]})
            raise CliError(str(exc)) from None
    if as_json:
        emit_json({"imported": True, "files": reports})
        return
    for r in reports:
        if r.already_imported:
            click.echo(f"{r.file}: imported before ({r.rows} rows); nothing to do.")
        else:
            click.echo(
                f"{r.file}: {r.imported} {form}-form answers to {followup} imported into {r.cycle}."
            )
        if r.ignored_columns:
            click.echo(f"    columns ignored: {', '.join(r.ignored_columns)}")


# -- team KPIs (level 4) ----------------------------------------------------------------------


@cycle_group.group("kpi")
def kpi_group() -> None:
    """Team KPI series (team, metric, date, value), for the reports' team results."""


@kpi_group.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def kpi_import_cmd(ctx: click.Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Import team KPIs from CSV FILES (columns team, metric, date, value). Every faulty row
    is named by file and line and then nothing is imported; a file imported before is skipped;
    a later value for the same team, metric and date replaces the earlier one."""
    loaded = [ImportFile(path.name, path.read_bytes()) for path in files]
    with recommender_session(ctx) as (_, store):
        try:
            reports = import_kpis(store, current_catalog(store), loaded)
        except ImportInvalidError as exc:
            if as_json:
                emit_json({"imported": False, "faults": [f.to_dict() for f in exc.faults]})
            raise CliError(str(exc)) from None
    if as_json:
        emit_json({"imported": True, "files": reports})
        return
    for r in reports:
        if r.already_imported:
            click.echo(f"{r.file}: imported before ({r.rows} rows); nothing to do.")
        else:
            click.echo(
                f"{r.file}: {r.imported} values of {r.teams} team(s) imported "
                f"({', '.join(r.metrics)})."
            )


@kpi_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def kpi_list_cmd(ctx: click.Context, as_json: bool) -> None:
    """The KPIs stored: each metric's teams and dates."""
    with recommender_session(ctx) as (_, store):
        found = kpi_summary(store.events())
    if as_json:
        emit_json(found)
        return
    if not found["metrics"]:
        click.echo("No KPIs: kb cycle kpi import FILE (columns team, metric, date, value).")
    for m in found["metrics"]:
        click.echo(
            f"{m['metric']}: {m['values']} values of {len(m['teams'])} team(s), "
            f"{m['from']} to {m['to']}"
        )


# -- modules ranked by proven gain ------------------------------------------------------------


@cycle_group.command("gains")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def gains_cmd(ctx: click.Context, as_json: bool) -> None:
    """Each module's measured gain per skill (levels, before -> after assessments), with its
    95% interval and sample size, best gain per participant hour first; and which proved a
    gain, which near zero, by the evidence threshold that `kb next` and `kb plan` use."""
    with recommender_session(ctx) as (_, store):
        evidence = gain_evidence(store)
    if as_json:
        emit_json(evidence.to_dict())
        return
    if not evidence.overall:
        click.echo("No module measured yet: import pre and post assessments of a cycle.")
    for g in evidence.ranked():
        ci = "no interval" if g.low is None else f"95% CI {g.low:+.2f}..{(g.high or 0):+.2f}"
        click.echo(
            f"{g.module}  {g.skill}: {g.mean:+.2f} levels ({ci}), n={g.n}, "
            f"{g.per_hour:+.3f}/h: {g.verdict}"
        )


def register(group: click.Group) -> None:
    """Add `kb cycle` to the main `kb` group."""
    group.add_command(cycle_group)
