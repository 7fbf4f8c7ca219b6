"""`kb source add|list|sync|rm`: named sources kept in the store that stay in sync (Git
repositories, folders; docs/sources.md). Syncs also run on their own, every `--every`, in
`kb serve` and `kb worker`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from api.cli.common import CliContext, CliError, emit_json


@contextmanager
def _source_errors() -> Iterator[None]:
    from kb import KBError

    try:
        yield
    except KBError as exc:
        raise CliError(str(exc)) from None


@click.group("source")
def source() -> None:
    """Named sources (Git repositories, folders) that stay in sync."""


@source.command("add")
@click.argument("name")
@click.argument("kind")
@click.argument("location")
@click.option("--branch", default=None, help="Git: the branch (default: the remote's HEAD).")
@click.option("--path", "paths", multiple=True, help="Read only under this sub-path (repeat).")
@click.option("--ignore", multiple=True, help="A gitignore pattern of files to skip (repeat).")
@click.option(
    "--default",
    "defaults",
    multiple=True,
    help='Metadata by path: "docs/**: team=nlp course=rag visibility=nlp" (repeat; later win).',
)
@click.option("--team", default=None, help="Default team of every file.")
@click.option("--course", default=None, help="Default course of every file.")
@click.option("--visibility", multiple=True, help="A team allowed to see its documents (repeat).")
@click.option("--link", default=None, help="Link template: https://host/repo/blob/{commit}/{path}.")
@click.option(
    "--every", default="manual", show_default=True, help="Sync interval: 30m, 1h, 1d or manual."
)
@click.option("--sync/--no-sync", "sync_now", default=False, help="Sync it once, now.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def add(
    obj: CliContext,
    name: str,
    kind: str,
    location: str,
    branch: str | None,
    paths: tuple[str, ...],
    ignore: tuple[str, ...],
    defaults: tuple[str, ...],
    team: str | None,
    course: str | None,
    visibility: tuple[str, ...],
    link: str | None,
    every: str,
    sync_now: bool,
    as_json: bool,
) -> None:
    """Add the source NAME of KIND (git, folder) at LOCATION (a URL or path)."""
    from api.sources import build_spec, open_registry

    with _source_errors():
        spec = build_spec(
            name,
            kind,
            location,
            branch=branch,
            paths=paths,
            ignore=ignore,
            defaults=defaults,
            team=team,
            course=course,
            visibility=visibility,
            link=link,
            every=every,
        )
        with open_registry(obj.backend) as registry:
            added = registry.add(spec)
    if as_json and not sync_now:
        emit_json(added.view())
    elif not as_json:
        click.echo(f"Added the {kind} source {name} ({spec.location}).")
    if sync_now:
        _sync(obj, (name,), as_json)


@source.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_sources(obj: CliContext, as_json: bool) -> None:
    """Every source: when it last synced, its documents, its failures, its next run."""
    from api.sources import listing, open_registry

    with _source_errors(), open_registry(obj.backend) as registry:
        views = listing(registry)
    if as_json:
        emit_json(views)
        return
    if not views:
        click.echo("No sources yet: kb source add NAME git URL (see docs/sources.md).")
        return
    for view in views:
        state = "failing: " + view["error"] if view["error"] else "ok"
        if view["last_sync_at"] is None:
            state = "never synced"
        click.echo(
            f"{view['name']}\t{view['kind']}\t{view['location']}\t{view['documents']} doc(s)\t"
            f"last {view['last_sync_at'] or '-'}\tnext {view['next_run_at'] or 'manual'}\t"
            f"{len(view['failures'])} failed file(s)\t{state}"
        )


@source.command("sync")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def sync(obj: CliContext, names: tuple[str, ...], as_json: bool) -> None:
    """Sync the sources NAMES now (all of them when none is named). Exit status 1 when one
    failed (its last good documents are kept)."""
    _sync(obj, names, as_json)


def _sync(obj: CliContext, names: tuple[str, ...], as_json: bool) -> None:
    from api.sources import open_registry, report_view, syncer

    kb = obj.open_kb()
    with _source_errors(), open_registry(obj.backend) as registry:
        chosen = list(names) or [s.name for s in registry.list()]
        runner = syncer(obj.backend, kb, registry)
        reports = [report_view(runner.sync(name)) for name in chosen]
    if as_json:
        emit_json(reports)
    else:
        for r in reports:
            if r["error"]:
                click.echo(f"{r['name']}: failed: {r['error']}", err=True)
                continue
            click.echo(
                f"{r['name']}: {r['mode']}, {r['parsed']} parsed, {r['added']} added, "
                f"{r['updated']} updated, {r['removed']} removed, {r['unchanged']} unchanged, "
                f"{r['failed']} failed ({r['seconds']:.2f} s)"
            )
    if any(r["error"] for r in reports):
        sys.exit(1)


@source.command("rm")
@click.argument("name")
@click.option("--keep-documents", is_flag=True, help="Keep the documents it stored.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def rm(obj: CliContext, name: str, keep_documents: bool, as_json: bool) -> None:
    """Remove the source NAME, and its documents unless --keep-documents."""
    from api.sources import open_registry, remove

    kb = obj.open_kb()
    with _source_errors(), open_registry(obj.backend) as registry:
        done = remove(obj.backend, kb, registry, name, keep=keep_documents)
    if as_json:
        emit_json(done)
        return
    kept = "kept its documents" if keep_documents else f"{done['removed_documents']} document(s)"
    click.echo(f"Removed the source {name} ({kept}).")


def register(group: click.Group) -> None:
    group.add_command(source)


__all__ = ["register", "source"]
