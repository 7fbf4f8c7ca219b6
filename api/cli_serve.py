"""`kb serve`: the HTTP API over the embedded store, in one uvicorn worker process.

One process only: the store and the vector index live inside it, and ingest jobs run in its
worker thread. Configuration problems (keys file, store) are reported as one sentence.
"""

from __future__ import annotations

from pathlib import Path

import click

from api.cli_common import CliContext, CliError


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
    {key, role, employee}; KB_AUTH_DISABLED=1 runs without keys, for development only."""
    import uvicorn

    from api.app import ConfigurationError, create_app
    from api.auth import ApiKeysError
    from api.settings import Settings

    settings = Settings().model_copy(update={"home": Path(obj.home), "model": obj.model})
    try:
        app = create_app(settings)
    except (ApiKeysError, ConfigurationError) as exc:
        raise CliError(f"Cannot start the service: {exc}") from None
    uvicorn.run(app, host=host, port=port, workers=1, log_level=log_level)


@click.group("keys")
def keys() -> None:
    """API keys for the HTTP service and the web pages (a YAML file, KB_API_KEYS_FILE)."""


@keys.command("add")
@click.option(
    "--file",
    "keys_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The keys file to append to (created if missing; keep it out of version control).",
)
@click.option("--role", type=click.Choice(["employee", "organiser", "admin"]), required=True)
@click.option("--employee", default=None, help="The employee id an employee key acts as.")
@click.option("--team", default=None, help="An organiser's team (for restricted documents).")
def add_key(keys_file: Path, role: str, employee: str | None, team: str | None) -> None:
    """Generate a random key, append it to the keys file, and print it once."""
    import secrets

    import yaml

    from api.auth import ApiKeysError, load_api_keys

    if role == "employee" and not employee:
        raise CliError("An employee key needs --employee ID (the employee it acts as).")
    entries: list[dict[str, str]] = []
    if keys_file.exists():
        try:
            load_api_keys(keys_file)
        except ApiKeysError as exc:
            raise CliError(f"Not adding to a faulty keys file: {exc}") from None
        entries = yaml.safe_load(keys_file.read_text()) or []
    entry = {"key": secrets.token_urlsafe(24), "role": role}
    if employee:
        entry["employee"] = employee
    if team:
        entry["team"] = team
    entries.append(entry)
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    keys_file.write_text(yaml.safe_dump(entries, sort_keys=False))
    keys_file.chmod(0o600)
    who = f" for {employee}" if employee else (f" (team {team})" if team else "")
    click.echo(f"{role}{who}: {entry['key']}")


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(keys)
