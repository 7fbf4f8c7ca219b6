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


def register(group: click.Group) -> None:
    group.add_command(serve)
