"""`kb cycle list | import | report`: training cycles, their results and their effect.

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
    IMPORT_KINDS,
    ImportFile,
    ImportInvalidError,
    build_report,
    current_catalog,
    import_results,
    list_cycles,
    load_cycle_state,
    now_iso,
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
    ctx: click.Context, cycle: str, fmt: str, as_json: bool, output: Path | None
) -> None:
    """The effect of CYCLE: levels before and after per skill, weighted gain, the figure of
    merit beside earlier cycles, completion, attendance, pass rate, survey, follow-up."""
    with recommender_session(ctx) as (cli, store):
        report = build_report(load_cycle_state(store), cycle, _LazyEncoder(cli))
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


def register(group: click.Group) -> None:
    """Add `kb cycle` to the main `kb` group."""
    group.add_command(cycle_group)
