"""`kb xapi import | export | push | status`: xAPI statements in and out (docs/xapi.md).

`import` reads a batch from a file, `-` (standard input) or an LRS's URL, and refuses it
whole, every bad statement named, if any is not valid (exit status 2). `export` prints our
events as a StatementResult. `push` sends the waiting statements to the LRS of
`KB_XAPI_LRS_URL` (exit status 1 when some are still waiting: the LRS refused or could not be
reached); `status` says how many wait.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.cli.audit import audited
from api.cli.common import CliContext, CliError, emit_json
from api.cli.recommender import recommender_session
from recommender import (
    SendError,
    XapiInvalidError,
    XapiMapping,
    current_catalog,
    export_statements,
    import_statements,
)

if TYPE_CHECKING:
    from api.settings import Settings


@click.group("xapi")
def xapi_group() -> None:
    """xAPI statements: import them from an LRS, export ours, push ours to an LRS."""


def _settings() -> Settings:
    from api.settings import Settings

    return Settings()


@xapi_group.command("import")
@click.argument("source")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON file: actors -> employee ids, activity ids -> modules or courses.",
)
@click.option("--strict", is_flag=True, help="Refuse the batch if any statement maps to nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def import_cmd(
    ctx: click.Context, source: str, mapping: Path | None, strict: bool, as_json: bool
) -> None:
    """Import the statements in SOURCE (a file, - for standard input, or an LRS URL; on the
    host of KB_XAPI_LRS_URL, fetched with its credentials).

    Every statement is checked against the xAPI specification first; if any is not valid,
    each bad one is named by its position and id, and nothing is imported. Statements whose
    id is already stored are not imported again.
    """
    from api.xapi import client_for_url

    data: bytes | list[object]
    if source.startswith(("http://", "https://")):
        client = client_for_url(source, _settings())
        try:
            data = client.fetch(source)
        except SendError as exc:
            raise CliError(str(exc)) from None
    elif source == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise CliError(f"{source}: no such file (give a file, - or an LRS URL)")
        data = path.read_bytes()
    with recommender_session(ctx) as (cli, store):
        audited(cli, "xapi.import", source, {"mapping": str(mapping)} if mapping else None)
        mapping = mapping or _settings().xapi_mapping
        rules = XapiMapping.from_file(mapping) if mapping else None
        try:
            report = import_statements(store, current_catalog(store), data, rules, strict=strict)
        except XapiInvalidError as exc:
            if as_json:
                emit_json(
                    {
                        "imported": False,
                        "total_faults": exc.total,
                        "faults": [f.to_dict() for f in exc.faults],
                    }
                )
            raise CliError(str(exc)) from None
    if as_json:
        emit_json({"imported": True, **report.to_dict()})
        return
    click.echo(
        f"{report.recorded} of {report.statements} statement(s) imported as {report.events} "
        f"event(s); {report.already_imported} imported before, {len(report.skipped)} skipped."
    )
    for skipped in report.skipped[:20]:
        click.echo(f"    skipped {skipped}")
    if len(report.skipped) > 20:
        click.echo(f"    ... and {len(report.skipped) - 20} more skipped")


@xapi_group.command("export")
@click.option("--since", help="Only statements stored after this ISO 8601 timestamp.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.pass_context
def export_cmd(ctx: click.Context, since: str | None, output: Path | None) -> None:
    """Our completions, assessments, cycle attendance and ratings as xAPI statements (a
    StatementResult: {"statements": [...], "more": ""}), oldest first."""
    settings = _settings()
    with recommender_session(ctx) as (cli, store):
        audited(cli, "xapi.export", str(output or "stdout"), {"since": since} if since else None)
        try:
            page = export_statements(store.events(), base=settings.xapi_base, since=since)
        except ValueError as exc:
            raise CliError(f"--since: {exc}") from None
    text = json.dumps(page.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(page.statements)} statement(s) written to {output}.", err=True)


@xapi_group.command("push")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def push_cmd(obj: CliContext, as_json: bool) -> None:
    """Send the statements waiting for the LRS (KB_XAPI_LRS_URL), oldest first; what the LRS
    does not take stays waiting for the next push (exit status 1)."""
    from api.cli.common import recommender_errors
    from api.xapi import LrsClient, push_once

    settings = _settings()
    client = LrsClient.from_settings(settings)
    if client is None:
        raise CliError("no LRS is set: give its xAPI endpoint in KB_XAPI_LRS_URL")
    with recommender_errors():
        report = push_once(obj.backend, settings, client)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo(
            f"{report.enqueued} new statement(s) queued, {report.sent} sent to "
            f"{client.where}, {report.waiting} waiting."
        )
        if report.error:
            click.echo(f"The LRS did not take them: {report.error}", err=True)
    if report.error:
        sys.exit(1)


@xapi_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status_cmd(obj: CliContext, as_json: bool) -> None:
    """How many statements wait for the LRS, and the last error."""
    from api.cli.common import recommender_errors

    with recommender_errors(), obj.backend.open_xapi_outbox() as outbox:
        status = outbox.status()
    if as_json:
        emit_json(status.to_dict())
        return
    click.echo(f"{status.waiting} statement(s) waiting, {status.sent} sent.")
    if status.last_error:
        click.echo(f"Last error ({status.attempts} attempt(s)): {status.last_error}")


def register(group: click.Group) -> None:
    """Add `kb xapi` to the main `kb` group."""
    group.add_command(xapi_group)
