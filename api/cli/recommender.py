"""`kb catalog load`, `gaps`, `next`, `recommend`, `plan`, `team`, `complete`, `rate`.

Thin on purpose: parse, call `recommender`, print. Every recommender error becomes a
`CliError` (one sentence, exit status 2); the knowledge base is opened only when needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click

from api.cli.audit import audited
from api.cli.common import CliContext, CliError, emit_json, recommender_errors, to_json
from api.cli.glossary import catalog_glossary, glossary_line
from api.glossary import check_catalog_glossary
from recommender import (
    Catalog,
    CatalogInvalidError,
    FrameworkTerms,
    PlanMethod,
    RecommenderStore,
    current_catalog,
    employee_gaps,
    framework_terms,
    greedy_plan,
    load_catalog,
    measure_gains,
    next_module,
    plan_modules,
    recommend,
    record_completion,
    record_rating,
    team_report,
)

if TYPE_CHECKING:
    from kb import DocumentInfo, Hit, SearchFilters


class _LazyKnowledgeBase:
    """A MaterialSource that opens the kb (and its model) on first use only."""

    def __init__(self, ctx: CliContext) -> None:
        self._ctx = ctx

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        return self._ctx.open_kb().search(query, k=k, filters=filters, mode=mode)

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        return self._ctx.open_kb().get_document(doc_id)


@contextmanager
def recommender_session(ctx: click.Context) -> Iterator[tuple[CliContext, RecommenderStore]]:
    """The CLI context and the recommender store; recommender errors become CliErrors."""
    cli = ctx.find_object(CliContext)
    if cli is None:
        raise click.ClickException("internal error: the kb group did not set its CliContext")
    with recommender_errors():  # opening the store too: an unreachable database is a sentence
        store = cli.backend.open_recommender_store()
        try:
            yield cli, store
        finally:
            store.close()


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def _catalog(store: RecommenderStore) -> Catalog:
    return current_catalog(store)


def _terms(cli: CliContext) -> FrameworkTerms:
    """The approved mappings to the skills framework (docs/frameworks.md); empty without one."""
    with recommender_errors():
        store = cli.backend.open_framework_store()
        try:
            return framework_terms(store)
        finally:
            store.close()


def _emit(cli: CliContext, payload: Any) -> None:
    """The answer as JSON, with the framework's terms added where mappings are approved."""
    emit_json(_terms(cli).annotate(to_json(payload)))


def _in_framework(terms: FrameworkTerms, reason: str) -> None:
    said = terms.say(reason)
    if said != reason:
        click.echo(f"  in {terms.framework}: {said}")


# -- catalog ----------------------------------------------------------------------------------


@click.group("catalog")
def catalog_group() -> None:
    """The training catalogue: skills, teams, courses and employees."""


@catalog_group.command("load")
@click.argument("directory", type=click.Path(path_type=Path))
@_json_option
@click.pass_context
def catalog_load(ctx: click.Context, directory: Path, as_json: bool) -> None:
    """Validate DIRECTORY (skills/teams/courses/employees.yaml) and make it current.

    All faults are reported at once; a faulty catalogue loads nothing. A glossary.yaml in
    DIRECTORY becomes the organisers' glossary search uses (`kb glossary`); a catalogue
    without one removes the glossary an earlier catalogue brought.
    """
    with recommender_session(ctx) as (cli, store):
        try:
            organisers = check_catalog_glossary(directory)  # faulty: nothing loads
            audited(cli, "catalog.load", str(directory))  # before it loads (api.audit)
            report = load_catalog(store, directory)
        except CatalogInvalidError as exc:
            if as_json:
                emit_json({"loaded": False, "faults": [f.to_dict() for f in exc.faults]})
            raise CliError(str(exc)) from None
        glossary_done = catalog_glossary(cli, organisers)
    if as_json:
        emit_json({"loaded": True, **report.to_dict(), "glossary": glossary_done})
        return
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items())
    click.echo(f"Loaded catalogue from {report.source}: {counts}.")
    line = glossary_line(glossary_done)
    if line is not None:
        click.echo(line)
    if report.events_applied or report.events_skipped:
        click.echo(
            f"Re-applied {report.events_applied} recorded event(s)"
            + (f"; {report.events_skipped} no longer match" if report.events_skipped else "")
            + "."
        )


# -- questions --------------------------------------------------------------------------------


@click.command("gaps")
@click.argument("employee")
@_json_option
@click.pass_context
def gaps_cmd(ctx: click.Context, employee: str, as_json: bool) -> None:
    """Skill gaps of EMPLOYEE, largest weighted gap first."""
    with recommender_session(ctx) as (cli, store):
        report = employee_gaps(_catalog(store), employee)
    if as_json:
        _emit(cli, report)
        return
    terms = _terms(cli)
    click.echo(f"{report.name} ({report.team}): total weighted gap {report.total_weighted_gap:g}")
    head = f"  {'skill':<24}{'now':>4}{'target':>8}{'gap':>5}{'weight':>8}{'weighted':>10}"
    click.echo(head + (f"  {terms.framework}" if terms else ""))
    for g in report.gaps:
        term = terms.term(g.skill)
        click.echo(
            f"  {g.skill:<24}{g.current:>4}{g.target:>8}{g.gap:>5}{g.weight:>8g}"
            f"{g.weighted_gap:>10g}" + (f"  {term.label} ({term.id})" if term else "")
        )


@click.command("next")
@click.argument("employee")
@_json_option
@click.pass_context
def next_cmd(ctx: click.Context, employee: str, as_json: bool) -> None:
    """The next module EMPLOYEE should take, and why."""
    with recommender_session(ctx) as (cli, store):
        catalog = _catalog(store)
        evidence = measure_gains(catalog, store.events())  # modules' proven gains
        result = next_module(catalog, employee, evidence=evidence)
    if as_json:
        _emit(cli, result.to_dict())
        return
    if result.option is None:
        click.echo(f"No module for {employee}: {result.reason}")
        return
    module = result.option.module
    click.echo(f"Next for {employee}: {module.id} - {module.title} ({module.hours:g} h)")
    click.echo(f"  why: {result.option.reason}")
    _in_framework(_terms(cli), result.option.reason)
    for alt in result.alternatives:
        click.echo(f"  or:  {alt.module.id}: {alt.reason}")


@click.command("recommend")
@click.argument("employee")
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="How many materials.",
)
@_json_option
@click.pass_context
def recommend_cmd(ctx: click.Context, employee: str, k: int, as_json: bool) -> None:
    """Modules, materials and colleagues to ask, for EMPLOYEE's largest gaps."""
    with recommender_session(ctx) as (cli, store):
        catalog = _catalog(store)
        catalog.employee(employee)  # unknown employee: fail before loading any model
        result = recommend(catalog, employee, _LazyKnowledgeBase(cli), k=k)
    if as_json:
        _emit(cli, result.to_dict())
        return
    click.echo(f"Recommendations for {result.name} ({result.team}) [{result.signals}]")
    click.echo("Modules:")
    for m in result.modules:
        click.echo(f"  - {m.option.module.id}: {m.reason}")
    click.echo("Materials:")
    for item in result.materials:
        click.echo(f"  - {item.title} [{item.source} {item.location}] ({item.doc_id})")
        click.echo(f"      {item.reason}")
    click.echo("Who to ask:")
    for c in result.colleagues:
        click.echo(f"  - {c.name}: {c.reason}")
    for note in result.notes:
        click.echo(f"Note: {note}")


@click.command("plan")
@click.argument("employee")
@click.option("--hours", type=float, required=True, help="Training hours available.")
@click.option(
    "--method",
    type=click.Choice(get_args(PlanMethod)),
    default="exact",
    show_default=True,
    help="greedy is only a baseline to compare with.",
)
@_json_option
@click.pass_context
def plan_cmd(ctx: click.Context, employee: str, hours: float, method: str, as_json: bool) -> None:
    """The modules within --hours that close the most weighted gap, in order."""
    with recommender_session(ctx) as (cli, store):
        catalog = _catalog(store)
        evidence = measure_gains(catalog, store.events())  # modules' proven gains
        build = plan_modules if method == "exact" else greedy_plan
        plan = build(catalog, employee, hours, evidence)
    if as_json:
        _emit(cli, plan.to_dict())
        return
    terms = _terms(cli)
    click.echo(f"Plan for {employee}: {plan.reason}")
    for step in plan.steps:
        click.echo(
            f"  {step.cumulative_hours:>5g} h  {step.module.id} ({step.module.hours:g} h): "
            f"{step.reason}"
        )
        _in_framework(terms, step.reason)


@click.command("team")
@click.argument("team")
@_json_option
@click.pass_context
def team_cmd(ctx: click.Context, team: str, as_json: bool) -> None:
    """TEAM's aggregated gaps and the training that would close the most of them."""
    with recommender_session(ctx) as (cli, store):
        report = team_report(_catalog(store), team)
    if as_json:
        _emit(cli, report.to_dict())
        return
    terms = _terms(cli)
    click.echo(
        f"{report.name} ({len(report.members)} members): weighted gap {report.total_weighted_gap:g}"
    )
    for s in report.skills:
        term = terms.term(s.skill)
        click.echo(
            f"  {s.skill:<24} {s.weighted_gap:>6g}  ({len(s.members_with_gap)} member(s))"
            + (f"  {terms.framework}: {term.label} ({term.id})" if term else "")
        )
    click.echo("Training to run next:")
    for m in report.modules:
        click.echo(f"  - {m.module.id}: {m.reason}")


# -- feedback ---------------------------------------------------------------------------------


@click.command("complete")
@click.argument("employee")
@click.argument("module")
@click.option("--score", type=float, default=1.0, show_default=True, help="Assessment score, 0..1.")
@_json_option
@click.pass_context
def complete_cmd(
    ctx: click.Context, employee: str, module: str, score: float, as_json: bool
) -> None:
    """Record that EMPLOYEE completed MODULE; raises their levels in its skills."""
    with recommender_session(ctx) as (_, store):
        result = record_completion(store, _catalog(store), employee, module, score)
    if as_json:
        emit_json(result.to_dict())
        return
    changes = ", ".join(f"{c.skill} {c.before}->{c.after}" for c in result.changes)
    click.echo(f"Recorded: {employee} completed {module} (score {score:g}). Levels: {changes}.")


@click.command("rate")
@click.argument("employee")
@click.argument("doc_id")
@click.argument("rating", type=int)
@_json_option
@click.pass_context
def rate_cmd(ctx: click.Context, employee: str, doc_id: str, rating: int, as_json: bool) -> None:
    """Record EMPLOYEE's RATING (1..5) of document DOC_ID; it shapes later material ranking."""
    with recommender_session(ctx) as (cli, store):
        result = record_rating(
            store, _catalog(store), employee, doc_id, rating, _LazyKnowledgeBase(cli)
        )
    if as_json:
        emit_json(result.to_dict())
        return
    click.echo(f"Recorded: {employee} rated '{result.title}' {rating}/5.")


def register(group: click.Group) -> None:
    """Add the recommender's commands to the main `kb` group."""
    for command in (
        catalog_group,
        gaps_cmd,
        next_cmd,
        recommend_cmd,
        plan_cmd,
        team_cmd,
        complete_cmd,
        rate_cmd,
    ):
        group.add_command(command)
