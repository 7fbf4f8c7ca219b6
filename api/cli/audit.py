"""`kb audit`: check the audit log's chain, list it, export it as JSON lines for a SIEM
(docs/audit.md); and `audited`, what the other commands call to record what they do (as
`cli:<user>`), before doing it: a record that cannot be written stops the command (api.audit).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from api.audit import Auditor, AuditWriteError, cli_actor
from api.cli.common import CliContext, CliError, emit_json
from kb import KBError


def audited(
    obj: CliContext, action: str, target: str = "", detail: Mapping[str, Any] | None = None
) -> None:
    """Record `action` by this CLI user in the backend's audit log, or stop the command."""
    try:
        auditor = Auditor(obj.backend.open_audit_log())
    except KBError as exc:
        raise CliError(f"Cannot open the audit log, so nothing was done: {exc}") from exc
    try:
        auditor.record(cli_actor(), action, target, detail)
    except AuditWriteError as exc:
        raise CliError(str(exc)) from exc
    finally:
        auditor.close()


def _since(value: str | None) -> datetime | None:
    """A date (2026-03-01, midnight UTC) or an ISO time (2026-03-01T09:00:00+01:00)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(
            f"--since {value!r} is not a date: give YYYY-MM-DD or an ISO time "
            "such as 2026-03-01T09:00:00+00:00."
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


_SINCE = click.option(
    "--since", default=None, help="Only records at or after this date (YYYY-MM-DD, UTC) or time."
)


@click.group("audit")
def audit_group() -> None:
    """The audit log: who signed in, read restricted documents, loaded catalogues, uploaded,
    deleted, changed keys and exported (docs/audit.md)."""


def _open(obj: CliContext) -> Any:
    try:
        return obj.backend.open_audit_log()
    except KBError as exc:
        raise CliError(f"Cannot open the audit log: {exc}") from exc


@audit_group.command("verify")
@click.pass_obj
def verify(obj: CliContext) -> None:
    """Check every record's hash and its link to the one before. Exit 0 when the chain is
    intact, 1 naming the first record removed, edited or out of place."""
    log = _open(obj)
    try:
        broken = log.verify()
        count = log.count()
    finally:
        log.close()
    if broken is not None:
        click.echo(
            f"The audit chain is broken at record {broken}: a record was removed or edited "
            "there (or just before it). Compare with an earlier export or a backup.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"{count} records, chain intact")


@audit_group.command("list")
@_SINCE
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_records(obj: CliContext, since: str | None, as_json: bool) -> None:
    """The records, oldest first."""
    log = _open(obj)
    try:
        records = log.records(_since(since))
    finally:
        log.close()
    if as_json:
        emit_json({"records": [r.to_json() for r in records]})
        return
    for r in records:
        where = f" from {r.source_ip}" if r.source_ip else ""
        target = f" {r.target}" if r.target else ""
        click.echo(f"{r.seq}  {r.to_json()['at']}  {r.actor}  {r.action}{target}{where}")


@audit_group.command("export")
@click.option(
    "--since",
    required=True,
    help="Only records at or after this date (YYYY-MM-DD, UTC) or time.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output).",
)
@click.pass_obj
def export(obj: CliContext, since: str, output: Path | None) -> None:
    """Write the records as JSON lines (one object a line, with seq, hash and prev_hash, so the
    SIEM can check the chain too). The export is itself audited."""
    start = _since(since)
    audited(obj, "export", str(output) if output else "stdout", {"since": since})
    log = _open(obj)
    try:
        records = log.records(start)
    finally:
        log.close()
    lines = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
    if output is None:
        sys.stdout.write(lines)
    else:
        output.write_text(lines, encoding="utf-8")
        click.echo(f"{len(records)} records written to {output}", err=True)


def register(group: click.Group) -> None:
    group.add_command(audit_group)
