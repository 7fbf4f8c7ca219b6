"""`kb serve`: the HTTP API, in one uvicorn worker process.

On the embedded store, one process per home: the vector index lives inside it, and ingest
jobs run in its worker thread. On PostgreSQL (KB_DATABASE_URL) any number of `kb serve`
replicas share the database, and jobs are queued there for any replica or `kb worker`.
Configuration problems (keys file, store) are reported as one sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from api.cli.common import CliContext, CliError


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.pass_obj
def serve(obj: CliContext, host: str, port: int, log_level: str) -> None:
    """Serve the HTTP API (OpenAPI at /docs). Needs KB_API_KEYS_FILE, a YAML list of
    {key_sha256, role, employee} (see `kb keys add`); KB_AUTH_DISABLED=1 runs without keys,
    for development only."""
    import uvicorn

    from api.http.app import ConfigurationError, create_app
    from api.http.auth import ApiKeysError
    from api.settings import Settings

    settings = Settings().model_copy(
        update={
            "home": Path(obj.home),
            "model": obj.model,
            "model_variant": obj.variant,
            "database_url": obj.database_url,
        }
    )
    from api.logs import configure_logging

    configure_logging(settings, log_level)  # the app's INFO lines too, text or JSON
    try:
        app = create_app(settings)
    except (ApiKeysError, ConfigurationError) as exc:
        raise CliError(f"Cannot start the service: {exc}") from None
    # uvicorn's lines through ours (log_config=None); its access lines are replaced by
    # api.access's, which add the request id, key id and latency (api.http.observability)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        log_level=log_level,
        log_config=None,
        access_log=False,
    )


@click.group("keys")
def keys() -> None:
    """API keys for the HTTP service and the web pages (a YAML file, KB_API_KEYS_FILE)."""


_KEYS_FILE = click.option(
    "--file",
    "keys_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The keys file (KB_API_KEYS_FILE; keep it out of version control).",
)


def _valid_entries(keys_file: Path, doing: str) -> list[Any]:
    from api.http.auth import ApiKeysError, load_api_keys, read_entries

    try:
        load_api_keys(keys_file)
    except ApiKeysError as exc:
        raise CliError(f"Not {doing} a faulty keys file: {exc}") from None
    return read_entries(keys_file)


@keys.command("add")
@_KEYS_FILE
@click.option("--role", type=click.Choice(["employee", "organiser", "admin"]), required=True)
@click.option("--employee", default=None, help="The employee id an employee key acts as.")
@click.option("--team", default=None, help="An organiser's team (for restricted documents).")
@click.pass_obj
def add_key(
    obj: CliContext, keys_file: Path, role: str, employee: str | None, team: str | None
) -> None:
    """Generate a random key, store its SHA-256 in the keys file (created with mode 0600 if
    missing) and print the key: this is the only time it is shown. Audited as `key.add` with
    the key's id (never the key)."""
    import secrets

    from api.cli.audit import audited
    from api.http.auth import hash_key, write_keys_file

    if role == "employee" and not employee:
        raise CliError("An employee key needs --employee ID (the employee it acts as).")
    entries = _valid_entries(keys_file, "adding to") if keys_file.exists() else []
    key = secrets.token_urlsafe(24)
    entry = {"key_sha256": hash_key(key), "role": role}
    if employee:
        entry["employee"] = employee
    if team:
        entry["team"] = team
    detail = {k: v for k, v in entry.items() if k != "key_sha256"} | {"file": str(keys_file)}
    audited(obj, "key.add", key_id(entry), detail)
    write_keys_file(keys_file, [*entries, entry])
    who = f" for {employee}" if employee else (f" (team {team})" if team else "")
    click.echo(f"{role}{who}: {key}")
    click.echo(
        f"Shown only now: {keys_file} keeps the key's SHA-256, not the key. Pass it on to "
        "its holder, or lose it and add another.",
        err=True,
    )
    plain = sum(1 for e in entries if "key" in e)
    if plain:
        click.echo(
            f"{keys_file} still stores {plain} other key(s) in plain text: "
            f"`kb keys hash --file {keys_file}` keeps only their SHA-256.",
            err=True,
        )


def key_id(entry: Mapping[str, Any]) -> str:
    """A keys-file entry's stable id (as the request log and the audit log name it):
    the first 16 hex digits of the key's SHA-256."""
    from api.http.auth import hash_key

    digest = entry.get("key_sha256") or hash_key(str(entry.get("key", "")))
    return str(digest)[:16]


@keys.command("remove")
@_KEYS_FILE
@click.argument("key_ids", nargs=-1, required=True)
@click.pass_obj
def remove_keys(obj: CliContext, keys_file: Path, key_ids: tuple[str, ...]) -> None:
    """Remove the keys with these ids (the first 16 hex digits of the key's SHA-256, as the
    service's logs and the audit log show them) from the keys file. Each is audited as
    `key.remove` first. The service reads the file at start-up: restart it."""
    from api.cli.audit import audited
    from api.http.auth import write_keys_file

    if not keys_file.exists():
        raise CliError(f"{keys_file}: no such file.")
    entries = _valid_entries(keys_file, "removing from")
    known = {key_id(e) for e in entries}
    unknown = [k for k in key_ids if k not in known]
    if unknown:
        raise CliError(
            f"{keys_file} has no key with id {', '.join(unknown)}: ids are the first 16 hex "
            "digits of a key's SHA-256 (the audit log's and the request log's key_id)."
        )
    for kid in key_ids:
        gone = next(e for e in entries if key_id(e) == kid)
        audited(obj, "key.remove", kid, {"role": gone.get("role"), "file": str(keys_file)})
    write_keys_file(keys_file, [e for e in entries if key_id(e) not in key_ids])
    click.echo(f"{keys_file}: {len(key_ids)} key(s) removed; restart the service to apply.")


@keys.command("hash")
@_KEYS_FILE
def hash_keys(keys_file: Path) -> None:
    """Replace every plain `key` in the keys file by its `key_sha256` (rewritten atomically,
    mode 0600). The keys themselves keep working; the file no longer reveals them."""
    from api.http.auth import hash_entries, write_keys_file

    if not keys_file.exists():
        raise CliError(f"{keys_file}: no such file.")
    entries, converted = hash_entries(_valid_entries(keys_file, "converting"))
    if not converted:
        click.echo(f"{keys_file}: all {len(entries)} key(s) are already stored as hashes.")
        return
    write_keys_file(keys_file, entries)
    click.echo(
        f"{keys_file}: {converted} plain key(s) replaced by their SHA-256 "
        f"({len(entries) - converted} already were). Copies and backups of the old file "
        "still hold the plain keys: delete them."
    )


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(keys)
