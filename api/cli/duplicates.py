"""`kb duplicates`: the near-duplicate groups (kb.dedupe), each canonical document with its
copies and their similarity, as `GET /analytics/duplicates` lists them (api.duplicates);
`kb dedupe`: sign and link every stored document afresh (after an upgrade that changed how
documents are compared, or a `kb migrate`, which copies documents but not their links)."""

from __future__ import annotations

import click

from api.cli.common import CliContext, emit_json
from api.duplicates import duplicates_listing


@click.command("duplicates")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@click.pass_obj
def duplicates(obj: CliContext, as_json: bool) -> None:
    """Near copies of one another, grouped: each group's canonical document (the earliest
    stored) and its copies with their estimated similarity, largest group first. Search
    shows a group once, at its best-ranked member, with "also in" the others."""
    listing = duplicates_listing(obj.open_kb(), None)
    if as_json:
        emit_json(listing.model_dump())
        return
    if not listing.groups:
        click.echo(f"No near duplicates (similarity {listing.threshold} or more).")
        return
    for group in listing.groups:
        click.echo(f"{group.canonical.source}\t{group.canonical.doc_id}")
        for member in group.members:
            click.echo(f"  = {member.source}\t{member.doc_id}\t{member.similarity}")
    click.echo(f"{len(listing.groups)} group(s), {listing.copies} cop(y/ies).")


@click.command("dedupe")
@click.option("--json", "as_json", is_flag=True, help="Print what it did as JSON.")
@click.pass_obj
def dedupe(obj: CliContext, as_json: bool) -> None:
    """Sign every stored document afresh and link its near copies again (ingest does it for
    each document it stores; run this after an upgrade or a `kb migrate`)."""
    report = obj.open_kb().dedupe()
    if as_json:
        emit_json(report)
        return
    click.echo(
        f"Signed {report.signed} of {report.documents} document(s): {report.groups} group(s) "
        f"of near duplicates, {report.copies} cop(y/ies) (similarity {report.threshold} or more)."
    )


def register(group: click.Group) -> None:
    group.add_command(duplicates)
    group.add_command(dedupe)
