"""`kb person export|erase`: one person's data on request (GDPR articles 15 and 17), and
`kb retention apply`: forget old searches and events now (docs/person-data.md).

The work is `api.person`'s; these commands choose the keys file, audit, and print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.cli.common import CliContext, CliError, emit_json
from kb import KBError

if TYPE_CHECKING:
    from api.settings import Settings

_KEYS = click.option(
    "--keys-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The API keys file whose keys for this person are listed / removed "
    "[default: KB_API_KEYS_FILE].",
)


def _keys_file(given: Path | None) -> Path | None:
    if given is not None:
        return given
    from api.settings import Settings

    return Settings().api_keys_file


@click.group("person")
def person_group() -> None:
    """One person's data: export everything stored about them, or erase them everywhere."""


@person_group.command("export")
@click.argument("employee")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON to this file (default: standard output).",
)
@_KEYS
@click.pass_obj
def export(obj: CliContext, employee: str, output: Path | None, keys_file: Path | None) -> None:
    """Everything stored about EMPLOYEE (an employee id) as JSON: the catalogue record and
    levels, events, cycle results, searches and votes, documents they wrote or own, keys,
    and audit records naming them. Audited as `person.export` (without the id)."""
    from api.cli.audit import audited
    from api.person import EXPORT_ACTION, export_person

    kb = obj.open_kb()
    try:
        data = export_person(obj.backend, kb, employee, keys_file=_keys_file(keys_file))
    except KBError as exc:
        raise CliError(str(exc)) from exc
    audited(obj, EXPORT_ACTION, _reference(obj, employee), {"to": "file" if output else "stdout"})
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{employee}: written to {output}", err=True)


def _reference(obj: CliContext, employee: str) -> str:
    from api.person import person_reference

    log = obj.backend.open_search_log()
    try:
        return person_reference(log.voter_secret(), employee)
    finally:
        log.close()


@person_group.command("erase")
@click.argument("employee")
@click.option(
    "--documents",
    type=click.Choice(["keep", "remove"]),
    default="keep",
    show_default=True,
    help="Documents they authored or own: keep them with author/owner cleared, or remove them.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_KEYS
@click.pass_obj
def erase(
    obj: CliContext,
    employee: str,
    documents: str,
    yes: bool,
    as_json: bool,
    keys_file: Path | None,
) -> None:
    """Remove EMPLOYEE everywhere: catalogue entry and references (cycles), events, searches,
    opens and votes, API keys, authorship; then compact the store. Audited as `person.erase`
    with a reference that names nobody. Running it again does nothing."""
    from api.audit import AuditWriteError, cli_actor
    from api.person import erase_person

    if not yes:
        click.confirm(
            f"Erase everything stored about {employee!r} (documents: {documents})? "
            "This cannot be undone",
            abort=True,
            err=True,
        )
    kb = obj.open_kb()
    try:
        report = erase_person(
            obj.backend,
            kb,
            employee,
            actor=cli_actor(),
            documents="remove" if documents == "remove" else "keep",
            keys_file=_keys_file(keys_file),
        )
    except AuditWriteError as exc:
        raise CliError(str(exc)) from exc
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(report.to_dict())
    elif report.already_erased:
        click.echo(f"{employee}: nothing stored (already erased); nothing done.")
    else:
        done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.counts.items())
        click.echo(f"{employee}: erased ({done}); audit reference {report.reference}.")
    for path in report.catalog_files:
        click.echo(
            f"{path} still names {employee}: kb never rewrites the organiser's files, so "
            "remove them there before the next `kb catalog load`, or it brings them back.",
            err=True,
        )
    if report.keys_file_note:
        click.echo(report.keys_file_note, err=True)


@click.group("retention")
def retention_group() -> None:
    """Forget what is older than the retention settings (KB_RETENTION_*_DAYS)."""


@retention_group.command("apply")
@click.option(
    "--searches-days",
    type=click.IntRange(min=0),
    default=None,
    help="[default: KB_RETENTION_SEARCHES_DAYS, else KB_ANALYTICS_RETENTION_DAYS]",
)
@click.option(
    "--events-days",
    type=click.IntRange(min=0),
    default=None,
    help="[default: KB_RETENTION_EVENTS_DAYS; 0 keeps them all]",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def apply(
    obj: CliContext, searches_days: int | None, events_days: int | None, as_json: bool
) -> None:
    """Forget searches, opens and votes, and events, older than the retention settings
    (what `kb worker` does every KB_RETENTION_INTERVAL_HOURS)."""
    from api.person import apply_retention
    from api.settings import Settings

    settings = Settings()
    searches, events = retention_days(settings)
    try:
        done = apply_retention(
            obj.backend,
            searches_days=searches if searches_days is None else searches_days,
            events_days=events if events_days is None else events_days,
        )
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json(done)
    else:
        click.echo(
            f"{done['search_log_rows']} search log row(s) and {done['events']} event(s) forgotten."
        )


def retention_days(settings: Settings) -> tuple[int, int]:
    """(searches, events) days from the settings: KB_RETENTION_SEARCHES_DAYS falls back to
    KB_ANALYTICS_RETENTION_DAYS, which the search recorder of `kb serve` also applies."""
    searches = settings.retention_searches_days
    if searches is None:
        searches = settings.analytics_retention_days
    return searches, settings.retention_events_days


def register(group: click.Group) -> None:
    group.add_command(person_group)
    group.add_command(retention_group)
