"""`kb graph`: the knowledge graph (skills, modules, courses, documents, people, teams), whole
or around a team, skill or person, as a summary, node-link JSON or GraphML; and the questions
it answers: `kb graph path`, `experts`, `bottlenecks`, `bridges`.

The command line is a trusted caller and sees every document, unless `--visible-to TEAM`
asks for what members of those teams may see (the HTTP API does that from the caller's key).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from api.cli.common import CliContext, CliError, emit_json, recommender_errors

if TYPE_CHECKING:
    from recommender import KnowledgeGraph
# recommender.graph (and networkx, ~0.3 s) is imported by the commands that use it, so that
# every other `kb` command starts as fast as before.


@contextmanager
def _graph(
    ctx: click.Context, visible_to: tuple[str, ...], documents: bool = True
) -> Iterator[tuple[CliContext, KnowledgeGraph]]:
    """The CLI context and the graph (for `visible_to` teams, or everything); without
    `documents`, the catalogue's alone, and the knowledge base (and its model) is not opened.
    Recommender errors become one sentence and exit status 2, the kb's own exit status 1."""
    cli = ctx.find_object(CliContext)
    if cli is None:
        raise click.ClickException("internal error: the kb group did not set its CliContext")
    from recommender import GraphCache, current_catalog, graph_for

    teams = tuple(dict.fromkeys(visible_to)) or None
    with recommender_errors():
        store = cli.backend.open_recommender_store()
        try:
            if documents:
                yield cli, GraphCache().get(cli.open_kb(), store, teams)
            else:
                yield cli, graph_for(current_catalog(store), [], teams)
        finally:
            store.close()


def _visible_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--visible-to",
        "visible_to",
        multiple=True,
        metavar="TEAM",
        help="Only documents that members of TEAM may see (repeatable); default: all.",
    )(func)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


@click.group("graph", invoke_without_command=True)
@click.option("--team", default=None, help="Only the part around this team.")
@click.option("--skill", default=None, help="Only the part around this skill.")
@click.option("--person", default=None, help="Only the part around this employee (or author).")
@click.option("--json", "as_json", is_flag=True, help="Print node-link JSON (networkx).")
@click.option("--graphml", "as_graphml", is_flag=True, help="Print GraphML (Gephi, yEd...).")
@_visible_option
@click.pass_context
def graph_group(
    ctx: click.Context,
    team: str | None,
    skill: str | None,
    person: str | None,
    as_json: bool,
    as_graphml: bool,
    visible_to: tuple[str, ...],
) -> None:
    """The knowledge graph: skills, modules, courses, documents, people and teams.

    Without a sub-command: a summary, or the graph itself with --json or --graphml, whole or
    around a --team, --skill or --person (given together: what they share).
    """
    if ctx.invoked_subcommand is not None:
        return
    if as_json and as_graphml:
        raise CliError("Choose one of --json and --graphml.")
    from recommender import focus, graph_summary, graphml, node_link

    with _graph(ctx, visible_to) as (_, kg):
        part = focus(kg.graph, team=team, skill=skill, person=person)
    if as_graphml:
        sys.stdout.write(graphml(part))
        return
    if as_json:
        emit_json(node_link(part))
        return
    summary = graph_summary(part)
    click.echo(
        f"{part.number_of_nodes()} nodes: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(summary["nodes"].items()))
    )
    click.echo(
        f"{part.number_of_edges()} edges: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(summary["edges"].items()))
    )
    click.echo("--json or --graphml prints the graph; kb graph --help lists its questions.")


@graph_group.command("path")
@click.argument("person")
@click.argument("skill")
@click.option(
    "--level",
    type=click.IntRange(1, 5),
    default=None,
    help="The level to reach [default: the person's target, else one above today's].",
)
@_json_option
@click.pass_context
def path_cmd(ctx: click.Context, person: str, skill: str, level: int | None, as_json: bool) -> None:
    """The modules that take PERSON to a level in SKILL in the fewest hours, prerequisites
    first."""
    from recommender import learning_path

    with _graph(ctx, (), documents=False) as (_, kg):
        result = learning_path(kg, person, skill, level)
    if as_json:
        emit_json(result)
        return
    click.echo(f"{result.name}, {result.skill_name}: {result.reason}")
    for step in result.steps:
        click.echo(
            f"  {step.cumulative_hours:>5g} h  {step.module} ({step.hours:g} h, level "
            f"{step.level_after} after): {step.reason}"
        )
    for alt in result.alternatives:
        click.echo(f"  or ending with {alt.module}: {alt.hours:g} h, {alt.modules} module(s)")


@graph_group.command("experts")
@click.argument("topic", nargs=-1, required=True)
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True)
@_visible_option
@_json_option
@click.pass_context
def experts_cmd(
    ctx: click.Context, topic: tuple[str, ...], k: int, visible_to: tuple[str, ...], as_json: bool
) -> None:
    """People nearest TOPIC: authors of the documents found for it, and people strong in
    their skills."""
    text = " ".join(topic).strip()
    if not text:
        raise CliError("The topic is empty: give some words, e.g. kb graph experts drift alerts")
    from recommender import experts

    teams = tuple(dict.fromkeys(visible_to)) or None
    with _graph(ctx, visible_to) as (cli, kg):
        answer = experts(kg, cli.open_kb(), text, k=k, viewer_teams=teams)
    if as_json:
        emit_json(answer)
        return
    if not answer.experts:
        click.echo(f"Nobody found near {text!r} (no matching document has an author or skills).")
    for expert in answer.experts:
        team = f" ({expert.team})" if expert.team else ""
        click.echo(f"{expert.score:>7.4f}  {expert.name}{team}: {expert.reason}")


@graph_group.command("bottlenecks")
@click.option(
    "--min-modules",
    type=click.IntRange(1, 1000),
    default=2,
    show_default=True,
    help="Only skills that at least this many modules rely on.",
)
@click.option(
    "--teach-level",
    type=click.IntRange(1, 5),
    default=4,
    show_default=True,
    help="The level from which a person could teach a skill.",
)
@_json_option
@click.pass_context
def bottlenecks_cmd(ctx: click.Context, min_modules: int, teach_level: int, as_json: bool) -> None:
    """Skills that many modules rely on but few people could teach, highest pressure first."""
    from recommender import bottlenecks

    with _graph(ctx, (), documents=False) as (_, kg):
        found = bottlenecks(kg, min_modules=min_modules, teach_level=teach_level)
    if as_json:
        emit_json({"bottlenecks": found})
        return
    for b in found:
        click.echo(f"{b.pressure:>7.4g}  {b.skill}: {b.reason}")


@graph_group.command("bridges")
@click.option("--direct", is_flag=True, help="Only course, module and material links.")
@_visible_option
@_json_option
@click.pass_context
def bridges_cmd(
    ctx: click.Context, direct: bool, visible_to: tuple[str, ...], as_json: bool
) -> None:
    """Documents that link courses of different teams: material worth sharing."""
    from recommender import bridges

    with _graph(ctx, visible_to) as (_, kg):
        found = bridges(kg, by_skill=not direct)
    if as_json:
        emit_json({"bridges": found})
        return
    if not found:
        click.echo("No document links courses of different teams.")
    for b in found:
        click.echo(f"{b.title} ({b.doc_id}): {', '.join(b.teams)}")
        click.echo(f"    {b.reason}")


def register(group: click.Group) -> None:
    """Add `kb graph` and its questions to the main `kb` group."""
    group.add_command(graph_group)
