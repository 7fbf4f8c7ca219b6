"""`kb catalog import-framework` and `kb catalog map-framework`: a skills framework (ESCO, the
company's own) and the mapping from the catalogue's skills to it (docs/frameworks.md).

Thin: parse, call `recommender`, print. The framework's store is opened per command; the
knowledge base (and its model) only for `--propose`, whose embedding similarity uses the
kb's own embedder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from api.cli.audit import audited
from api.cli.common import CliContext, CliError, emit_json, recommender_errors
from recommender import (
    FRAMEWORK_FORMATS,
    FrameworkInvalidError,
    FrameworkStore,
    approve_framework_skill,
    current_catalog,
    import_framework,
    mapping_view,
    propose_mapping,
    reject_framework_skill,
)


@contextmanager
def framework_session(ctx: click.Context) -> Iterator[tuple[CliContext, FrameworkStore]]:
    """The CLI context and the framework store; recommender errors become CliErrors."""
    cli = ctx.find_object(CliContext)
    if cli is None:
        raise click.ClickException("internal error: the kb group did not set its CliContext")
    with recommender_errors():
        store = cli.backend.open_framework_store()
        try:
            yield cli, store
        finally:
            store.close()


@click.command("import-framework")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FRAMEWORK_FORMATS),
    required=True,
    help="esco: ESCO's CSV (skills_en.csv or its folder) or its RDF file; csv: id, "
    "label_<lang>..., broader; skos: a SKOS file (.ttl, .rdf, .nt, .jsonld).",
)
@click.option(
    "--name", default="", help="The framework's name in answers (default: esco, or the file's)."
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    help="ESCO only: read just these languages' label files (repeatable; default: all found).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def import_framework_cmd(
    ctx: click.Context, file: Path, fmt: str, name: str, languages: tuple[str, ...], as_json: bool
) -> None:
    """Read a skills framework from FILE and make it the one mappings point to.

    Every fault is reported by file and line and a faulty file imports nothing; approved
    mappings to skills the new framework still has are kept.
    """
    with framework_session(ctx) as (cli, store):
        try:
            audited(cli, "framework.import", str(file), {"format": fmt})
            report = import_framework(
                store, file, fmt, name=name, languages=tuple(lang.lower() for lang in languages)
            )
        except FrameworkInvalidError as exc:
            if as_json:
                emit_json({"imported": False, "faults": [f.to_dict() for f in exc.faults]})
            raise CliError(str(exc)) from None
    if as_json:
        emit_json(report.to_dict())
        return
    f = report.framework
    click.echo(
        f"Imported framework {f['name']} from {f['source']}: {f['skills']} skills, "
        f"{f['groups']} groups, labels in {', '.join(f['languages'])}."
    )
    if report.dropped:
        click.echo(f"Dropped approvals whose skill is gone: {', '.join(report.dropped)}.")
    click.echo("Next: kb catalog map-framework --propose")


def _approval(value: str) -> tuple[str, str | None]:
    skill, sep, framework_id = value.partition("=")
    if not skill.strip() or (sep and not framework_id.strip()):
        raise CliError(f"--approve takes SKILL or SKILL=FRAMEWORK_ID, not {value!r}")
    return skill.strip(), (framework_id.strip() if sep else None)


@click.command("map-framework")
@click.option("--propose", is_flag=True, help="Score every catalogue skill against the framework.")
@click.option(
    "--approve",
    "approvals",
    multiple=True,
    metavar="SKILL[=FRAMEWORK_ID]",
    help="Map SKILL to FRAMEWORK_ID (alone: to its first proposal). Repeatable.",
)
@click.option(
    "--reject", "rejections", multiple=True, metavar="SKILL", help="No framework skill fits SKILL."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def map_framework_cmd(
    ctx: click.Context,
    propose: bool,
    approvals: tuple[str, ...],
    rejections: tuple[str, ...],
    as_json: bool,
) -> None:
    """Propose, approve or edit the mapping from the catalogue's skills to the framework's;
    with no option, show it (each skill's status, its framework skill and the proposals)."""
    parsed = [_approval(value) for value in approvals]
    with framework_session(ctx) as (cli, store):
        with recommender_errors():
            rec = cli.backend.open_recommender_store()
            try:
                catalog = current_catalog(rec)
            finally:
                rec.close()
        if propose:
            propose_mapping(store, catalog, cli.open_kb().embedder)
        if parsed or rejections:
            audited(
                cli, "framework.map", "", {"approve": list(approvals), "reject": list(rejections)}
            )
        for skill, framework_id in parsed:
            approve_framework_skill(store, catalog, skill, framework_id, by="cli")
        for skill in rejections:
            reject_framework_skill(store, catalog, skill, by="cli")
        view = mapping_view(store, catalog)
    if as_json:
        emit_json(view)
        return
    f, counts = view["framework"], view["counts"]
    click.echo(
        f"Framework {f['name']} ({f['skills']} skills): {counts['approved']} approved, "
        f"{counts['rejected']} rejected, {counts['proposed']} proposed, "
        f"{counts['none']} not proposed."
    )
    for row in view["skills"]:
        chosen = row["framework_skill"]
        if row["status"] == "approved" and chosen:
            click.echo(f"  {row['skill']:<24} approved  {chosen['label']} ({chosen['id']})")
        elif row["status"] == "rejected":
            click.echo(f"  {row['skill']:<24} rejected  (speaks the catalogue's terms)")
        elif row["candidates"]:
            best = row["candidates"][0]
            click.echo(
                f"  {row['skill']:<24} proposed  {best['label']} ({best['framework_id']})"
                f" score {best['score']:.2f}"
            )
        else:
            click.echo(f"  {row['skill']:<24} -         run --propose")


def register(group: click.Group) -> None:
    """Add the framework commands to `kb catalog` (made by api.cli.recommender)."""
    catalog = group.commands.get("catalog")
    if not isinstance(catalog, click.Group):
        raise RuntimeError("api.cli.frameworks registers after api.cli.recommender")
    catalog.add_command(import_framework_cmd)
    catalog.add_command(map_framework_cmd)
