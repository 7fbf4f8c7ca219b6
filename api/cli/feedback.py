"""`kb feedback vote | list`: readers' thumbs on search hits from the terminal (the search page
and `POST /feedback` give the same votes; kb.searchlog keeps them).

The CLI's voter is the account running it (`cli:<user name>`), stored only as the search log's
pseudonym of it, never with an employee id: one person voting again replaces their vote.
"""

from __future__ import annotations

import getpass
from contextlib import closing

import click

from api.cli.common import CliContext, CliError, emit_json

VOTES = {"up": 1, "down": -1, "none": 0}
LIST_DAYS = 90


def cli_voter_key() -> str:
    """Who votes from this terminal: the account's name (the same person every time)."""
    return "cli:" + getpass.getuser()


@click.group("feedback")
def feedback_group() -> None:
    """Readers' thumbs on search hits: give one, list them (organisers)."""


@feedback_group.command("vote")
@click.argument("query")
@click.argument("doc_id")
@click.argument("vote", type=click.Choice(tuple(VOTES)))
@click.option("--search-id", default=None, help="The search the hit came from (kb search --json).")
@click.pass_obj
def vote(obj: CliContext, query: str, doc_id: str, vote: str, search_id: str | None) -> None:
    """Vote DOC_ID up or down for QUERY (none: withdraw your vote). Counts for the learned
    ranking (kb rank train) and the organisers' list, once per person."""
    import re

    from api.settings import Settings
    from kb import KBError
    from kb.searchlog.base import SEARCH_ID_PATTERN
    from kb.searchlog.recorder import SearchRecorder

    text = query.strip()
    if not text:
        raise CliError("The query is empty: give the words that were searched for.")
    if search_id is not None and not re.match(SEARCH_ID_PATTERN, search_id):
        raise CliError(f"{search_id!r} is not a search id: copy the search_id kb search gives.")
    if not Settings().analytics_enabled:
        raise CliError("Votes are not recorded here (KB_ANALYTICS_ENABLED=0): nothing was kept.")
    try:
        doc = obj.open_kb().get_document(doc_id)
        if doc is None:
            raise CliError(f"No document with id {doc_id!r}: kb search or kb docs shows ids.")
        recorder = SearchRecorder(obj.backend.open_search_log())
        try:
            recorder.voted(text, doc.doc_id, VOTES[vote], search_id, voter_key=cli_voter_key())
            written = recorder.flush()
        finally:
            recorder.close()
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if not written:
        raise click.ClickException("The vote could not be written to the search log in time.")
    said = {"up": "voted up", "down": "voted down", "none": "vote withdrawn"}[vote]
    click.echo(f"{doc.title or doc.doc_id}: {said} for “{text}”.")


@feedback_group.command("list")
@click.option(
    "--since",
    "days",
    type=click.IntRange(1, 3650),
    default=LIST_DAYS,
    show_default=True,
    help="Days back of votes to count.",
)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option(
    "--latest", is_flag=True, help="The latest vote first (default: most downvoted first)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /analytics/feedback).")
@click.pass_obj
def list_votes(obj: CliContext, days: int, limit: int, latest: bool, as_json: bool) -> None:
    """Per query and document: readers whose latest vote is up and down, most downvoted
    first: the hits readers say are wrong for what was asked."""
    from api.feedback import feedback_list
    from kb import KBError

    try:
        with closing(obj.backend.open_search_log()) as search_log:
            found = feedback_list(
                search_log,
                obj.open_kb(),
                None,
                days,
                limit,
                "latest" if latest else "most_downvoted",
            )
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(found.model_dump(mode="json"))
        return
    if not found.items:
        click.echo(f"No votes in the last {days} days.")
        return
    click.echo("  up  down  last vote         query -> document")
    for row in found.items:
        when = row.last_vote.strftime("%Y-%m-%d %H:%M")
        title = row.title or f"{row.doc_id} (no longer stored)"
        click.echo(f"{row.up:>4}  {row.down:>4}  {when}  “{row.query}” -> {title}")
    if found.total > len(found.items):
        click.echo(f"... and {found.total - len(found.items)} more (--limit).")


def register(group: click.Group) -> None:
    group.add_command(feedback_group)
