"""`kb suggest TEXT`: what the search box offers as you type (`GET /suggest`), and the "did you
mean" a search with no good hit gets, from the terminal: to see what readers are offered, or
to script a completion. Built from everything the store knows, the catalogue and the search
log's successful past queries, as the service builds it (`api.http.suggestions`)."""

from __future__ import annotations

from contextlib import closing

import click

from api.cli.common import CliContext, CliError, emit_json

LIMIT_MAX = 20  # as GET /suggest's `limit` (api.http.models.SUGGEST_LIMIT_MAX)


@click.command("suggest")
@click.argument("text")
@click.option(
    "--limit", default=8, show_default=True, type=click.IntRange(1, LIMIT_MAX), help="At most."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (GET /suggest's, and did_you_mean)."
)
@click.pass_obj
def suggest(obj: CliContext, text: str, limit: int, as_json: bool) -> None:
    """Complete TEXT as the search box does: the programme's terms, skills, courses, modules,
    titles and past successful queries, by their start, a word's start, or (Chinese) their
    pinyin or its initials; then "did you mean" for TEXT as a whole query."""
    from api.http.deps import Catalogs
    from api.http.suggestions import build_suggester
    from kb import KBError

    if not text.strip():
        raise CliError("Nothing to complete: give the first letters or characters typed.")
    kb = obj.open_kb()
    catalogs = Catalogs(obj.backend.recommender_sessions())
    try:
        with closing(obj.backend.open_search_log()) as search_log:
            suggester = build_suggester(kb, catalogs, search_log)
    except KBError as exc:
        raise CliError(str(exc)) from exc
    finally:
        catalogs.close()
    found = suggester.suggest(text, limit=limit, teams=None)  # the terminal sees every title
    meant = suggester.did_you_mean(text)
    if as_json:
        emit_json({"query": text, "suggestions": found, "did_you_mean": meant})
        return
    for s in found:
        click.echo(f"{s.text}\t{s.kind}\t{s.matched}")
    if not found:
        click.echo("No suggestions.")
    if meant is not None:
        click.echo(f"Did you mean: {meant}")


def register(group: click.Group) -> None:
    group.add_command(suggest)
