"""`kb gaps-in-content`: what the knowledge base is missing, from the search log (as
`GET /analytics/content`). The command line is trusted: it names every document."""

from __future__ import annotations

from contextlib import closing

import click

from api.cli.common import CliContext, CliError, emit_json
from recommender import DEFAULT_WEEKS, LITTLE_MATERIAL, ContentReport, Coverage

REASON_WORDS = {
    "no_hits": "no hit",
    "weak_hits": "weak hits",
    "not_opened": "hits nobody opened",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('h') else 's'}"


def _coverage_lines(kind: str, rows: tuple[Coverage, ...]) -> list[str]:
    little = [row for row in rows if row.little]
    lines = [
        f"{kind} with little material (fewer than {LITTLE_MATERIAL} documents everyone "
        f"may see): {len(little)} of {len(rows)}"
    ]
    for row in little:
        searched = f", filtered on by {_plural(row.searches, 'search')}" if row.searches else ""
        lines.append(f"  {row.id:<24} {_plural(row.documents, 'document')}{searched}  {row.name}")
    return lines


def render(report: ContentReport) -> list[str]:
    """The report as lines of text."""
    lines = [
        f"What the knowledge base is missing, {report.since[:10]} to {report.until[:10]} "
        f"({_plural(report.weeks, 'week')})",
        f"{_plural(report.searches, 'search')}: {report.failed} found nothing good, "
        f"{report.unopened} had hits nobody opened; documents were opened "
        f"{_plural(report.opens, 'time')}.",
        "",
        f"Missed searches by topic: {len(report.topics)}",
    ]
    for topic in report.topics:
        lines.append(f"  {topic.label} ({_plural(topic.searches, 'search')})")
        for item in topic.queries:
            best = "" if item.best_score is None else f", best score {item.best_score:g}"
            lines.append(f"    {item.query!r} x{item.searches}: {REASON_WORDS[item.reason]}{best}")
    lines.append("")
    if report.catalog_loaded:
        lines += _coverage_lines("Skills", report.skills)
        lines += _coverage_lines("Modules", report.modules)
    else:
        lines.append("No catalogue loaded: skills and modules are not checked (kb catalog load).")
    lines += ["", f"Material nobody opened: {report.unopened_documents_total}"]
    for doc in report.unopened_documents:
        shown = f"shown in {_plural(doc.shown, 'search')}" if doc.shown else "never shown"
        lines.append(f"  {doc.doc_id}  {doc.title or doc.source}  ({shown})")
    if report.unopened_documents_total > len(report.unopened_documents):
        lines.append(
            f"  ... and {report.unopened_documents_total - len(report.unopened_documents)}"
            " more (--json lists the first ones too)"
        )
    lines += ["", "Per week      searches  failed  unopened  opens"]
    for week in report.trend:
        lines.append(
            f"  {week.week}  {week.searches:>8}  {week.failed:>6}  {week.unopened:>8}  "
            f"{week.opens:>5}"
        )
    return lines


@click.command("gaps-in-content")
@click.option(
    "--weeks",
    type=click.IntRange(1, 104),
    default=DEFAULT_WEEKS,
    show_default=True,
    help="Weeks back, this one included.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (as GET /analytics/content).")
@click.pass_obj
def gaps_in_content(obj: CliContext, weeks: int, as_json: bool) -> None:
    """What the knowledge base is missing: searches that found nothing good or whose hits
    nobody opened (by topic), skills and modules with little material, material nobody
    opened, and the trend per week, from the searches recorded by `kb serve`."""
    from kb import KBError
    from recommender import NoCatalogError, content_report, current_catalog

    try:
        with closing(obj.backend.open_search_log()) as search_log:
            kb = obj.open_kb()
            with closing(obj.backend.open_recommender_store()) as store:
                try:
                    catalog = current_catalog(store)
                except NoCatalogError:
                    catalog = None
            report = content_report(
                search_log, kb.list_documents(), catalog=catalog, embedder=kb.embedder, weeks=weeks
            )
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(report)
        return
    for line in render(report):
        click.echo(line)


def register(group: click.Group) -> None:
    group.add_command(gaps_in_content)
