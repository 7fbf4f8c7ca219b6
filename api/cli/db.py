"""`kb db upgrade` / `kb db status`: the PostgreSQL schema; `kb db start` / `kb db stop`: a
private PostgreSQL with pgvector on this machine; `kb migrate --to URL`: copy the embedded
home into PostgreSQL without re-embedding (resumable)."""

from __future__ import annotations

import warnings
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from api.cli.common import CliContext, CliError, emit_json

if TYPE_CHECKING:
    from api.backends import Backend


def _database(obj: CliContext, given: str | None = None) -> Backend:
    """The backend of the database given (`given`, else `--database-url` / `KB_DATABASE_URL`):
    one that keeps its state in a database, so one with migrations."""
    from api.backends import open_backend
    from kb.errors import KBError

    url = given or obj.database_url
    if not url:
        raise CliError(
            "No database given: set KB_DATABASE_URL=postgresql://... or pass --database-url."
        )
    try:
        backend = open_backend(obj.home, url)
    except KBError:
        backend = None
    if backend is None or not backend.schema_parts():
        raise CliError("The database URL must start with postgresql:// (or postgres://).")
    return backend


@click.group("db")
def db_group() -> None:
    """The PostgreSQL backend's schema (KB_DATABASE_URL / --database-url)."""


@db_group.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def db_upgrade(obj: CliContext, as_json: bool) -> None:
    """Create or migrate every table kb keeps in the database (safe to run from many
    machines at once; servers and commands also do it when they start)."""
    from kb.errors import KBError

    backend = _database(obj)
    try:
        upgraded = backend.upgrade_schema()
        applied = {part: row["applied"] for part, row in upgraded.items()}
        versions = {part: row["version"] for part, row in upgraded.items()}
    except KBError as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        emit_json({"applied": applied, "versions": versions})
        return
    for part, count in applied.items():
        click.echo(f"{part}: schema version {versions[part]} ({count} migration(s) applied)")


@db_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def db_status(obj: CliContext, as_json: bool) -> None:
    """Each part's schema version in the database against the one this kb needs; exit
    status 1 when an upgrade is due."""
    from kb.errors import KBError

    backend = _database(obj)
    try:
        rows = backend.schema_status()
    except KBError as exc:
        raise CliError(str(exc)) from exc
    due = any(row["database"] < row["needed"] for row in rows.values())
    if as_json:
        emit_json({"parts": rows, "upgrade_due": due})
    else:
        for part, row in rows.items():
            click.echo(f"{part}: database at {row['database']}, kb needs {row['needed']}")
        if due:
            click.echo("Run `kb db upgrade` (kb serve and kb ingest also upgrade on start).")
    if due:
        raise SystemExit(1)


def _private_server(folder: Path, cleanup_mode: str | None) -> Any:
    try:
        with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set"
            warnings.simplefilter("ignore")
            import pgserver

            folder.mkdir(parents=True, exist_ok=True)
            return pgserver.get_server(folder, cleanup_mode=cleanup_mode)
    except ImportError as exc:
        raise CliError(
            "kb db start needs pgserver: pip install 'kb-training[postgres]' (make install does)."
        ) from exc
    except Exception as exc:  # the server's own failure: one sentence
        raise CliError(f"The private PostgreSQL in {folder} did not start: {exc}") from exc


_FOLDER_HELP = "The server's data folder [default: <home>/postgres]."


@db_group.command("start")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=None, help=_FOLDER_HELP)
@click.pass_obj
def db_start(obj: CliContext, folder: Path | None) -> None:
    """Start a private PostgreSQL 16 with pgvector (the pgserver package) in a folder of this
    machine, or find it running, and print its URL (a Unix socket): to try the backend, run
    replicas on one machine, and in tests. A production deployment points KB_DATABASE_URL at
    its own PostgreSQL with the pgvector extension instead."""
    server = _private_server(folder or obj.home / "postgres", None)
    click.echo(server.get_uri())


@db_group.command("stop")
@click.option("--dir", "folder", type=click.Path(path_type=Path), default=None, help=_FOLDER_HELP)
@click.pass_obj
def db_stop(obj: CliContext, folder: Path | None) -> None:
    """Stop the private PostgreSQL that `kb db start` started (its data stays)."""
    folder = folder or obj.home / "postgres"
    if not (folder / "postmaster.pid").exists():
        click.echo(f"No private PostgreSQL is running in {folder}.")
        return
    _private_server(folder, "stop").cleanup()
    click.echo(f"Stopped the private PostgreSQL in {folder}.")


@click.command("migrate")
@click.option(
    "--to",
    "to_url",
    required=True,
    help="postgresql://... : the database to copy the home's knowledge base into.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def migrate(obj: CliContext, to_url: str, as_json: bool) -> None:
    """Copy the knowledge base in --home (documents, chunks, vectors) and the recommender's
    catalogue and events into PostgreSQL, without re-embedding anything. Run it again after
    an interruption: what was copied is skipped. Then point kb at the database
    (KB_DATABASE_URL) and keep the home for its API keys."""
    from api.backends import SqliteBackend
    from kb.dedupe import recompute
    from kb.errors import KBError
    from kb.store.migrate import migrate_store
    from kb.store.rows import read_manifest
    from recommender import RecommenderError, copy_state

    there = _database(obj, to_url)
    if read_manifest(obj.home) is None:
        raise CliError(
            f"There is no knowledge base in {obj.home} to migrate: point --home (KB_HOME) at "
            "the folder kb ingest wrote."
        )
    try:
        here = SqliteBackend(obj.home)
        with ExitStack() as opened:  # whatever opened is closed, a failed second open too
            source = opened.enter_context(closing(here.open_store()))
            target = opened.enter_context(closing(there.open_store()))
            report = migrate_store(source, target)
            # Near-duplicate links are the target's own: its documents signed and grouped
            # afresh (kb.dedupe), as `kb dedupe` would.
            duplicates = recompute(target)
        recommender: dict[str, int] = {}
        if (obj.home / "catalog.sqlite").exists():
            with ExitStack() as opened:
                embedded = opened.enter_context(closing(here.open_recommender_store()))
                database = opened.enter_context(closing(there.open_recommender_store()))
                recommender = copy_state(embedded, database)
    except (KBError, RecommenderError) as exc:
        raise CliError(str(exc)) from exc
    summary = {
        "documents": report.documents,
        "copied": report.copied,
        "unchanged": report.unchanged,
        "chunks": report.chunks,
        "recommender": recommender,
        "duplicates": {"groups": duplicates.groups, "copies": duplicates.copies},
    }
    if as_json:
        emit_json(summary)
        return
    click.echo(
        f"copied {report.copied} document(s) ({report.chunks} chunks, nothing re-embedded), "
        f"{report.unchanged} already there, of {report.documents}; recommender: {recommender}"
    )


def register(group: click.Group) -> None:
    group.add_command(db_group)
    group.add_command(migrate)
