"""`kb stale`: the material past its review date or older than its threshold, grouped per skill,
with owner, date and review date (`GET /analytics/stale` answers the same JSON)."""

from __future__ import annotations

from contextlib import closing

import click

from api.cli.common import CliContext, CliError, cli_settings, emit_json


@click.command("stale")
@click.option("--skill", default=None, help="That skill's documents alone (any case).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /analytics/stale).")
@click.pass_obj
def stale(obj: CliContext, skill: str | None, as_json: bool) -> None:
    """What may be out of date: documents past their review_by date, or older than the
    smallest threshold of their skills (a skill's stale_after_days in the catalogue, else
    KB_STALE_AFTER_DAYS), under each of their skills."""
    from api.freshness import freshness_rule, stale_listing
    from kb import KBError
    from recommender import NoCatalogError, current_catalog

    settings = cli_settings()
    try:
        kb = obj.open_kb()
        with closing(obj.backend.open_recommender_store()) as store:
            try:
                catalog = current_catalog(store)
            except NoCatalogError:
                catalog = None
        listing = stale_listing(
            kb.list_documents(), freshness_rule(settings, catalog), catalog, skill
        )
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(listing)
        return
    if not listing.skills:
        where = f" on skill {skill}" if skill else ""
        click.echo(f"Nothing{where} is past its review date or older than its threshold.")
        return
    for group in listing.skills:
        name = group.skill or "(no skill)"
        click.echo(f"{name}  (stale after {group.stale_after_days:,} days)")
        for doc in group.documents:
            owner = doc.owner or "no owner"
            click.echo(f"  {doc.source}  [{owner}]  {doc.reason}")
    plural = "" if listing.total == 1 else "s"
    click.echo(f"{listing.total} document{plural} may be out of date.")


def register(group: click.Group) -> None:
    group.add_command(stale)
