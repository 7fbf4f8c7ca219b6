"""`kb glossary`: the term pairs search uses when a query crosses languages, the organisers'
(`glossary.yaml`, kb.language.organisers) before those the knowledge base's own Chinese
material names (kb.language.mining), and where each comes from; `kb glossary load FILE` and
`kb glossary clear` for the organisers' part. `kb catalog load DIR` loads DIR/glossary.yaml
too (api.glossary, then `catalog_glossary` here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from api.cli.common import CliContext, CliError, emit_json
from api.glossary import glossary_listing, listed_entries, read_glossary_file, summary
from kb.language.organisers import (
    GLOSSARY_FILE,
    GlossaryFault,
    GlossaryInvalidError,
    OrganiserGlossary,
)
from kb.search.glossary import (
    CatalogGlossary,
    load_catalog_glossary,
    store_organisers,
)


def keep_organisers(obj: CliContext, organisers: OrganiserGlossary | None) -> None:
    """Keep `organisers` in the store (None removes it), for every process that searches it;
    a knowledge base open in this process uses it from its next query."""
    store = obj.backend.open_store()
    try:
        store_organisers(store, organisers)
    finally:
        store.close()
    _forget(obj)


def _forget(obj: CliContext) -> None:
    """A knowledge base open in this process reads the organisers' glossary again."""
    # an injected knowledge base may be a stand-in that does not search
    searcher = getattr(obj.knowledge_base, "searcher", None)
    if searcher is not None:
        searcher.glossary.forget_organisers()


def describe(organisers: OrganiserGlossary) -> str:
    return (
        f"{len(organisers.terms)} term(s) and {len(organisers.blocked)} blocked pair(s) "
        f"from {organisers.source}"
    )


def catalog_glossary(obj: CliContext, organisers: OrganiserGlossary | None) -> CatalogGlossary:
    """Once a catalogue loaded: its glossary (`api.glossary.check_catalog_glossary`) stored
    by the rule that a catalogue replaces what it defines."""
    store = obj.backend.open_store()
    try:
        done = load_catalog_glossary(store, organisers)
    finally:
        store.close()
    _forget(obj)
    return done


def glossary_line(done: CatalogGlossary) -> str | None:
    """The sentence `kb catalog load` prints about the glossary (None: nothing to say)."""
    counts = f"{done.terms} term(s) and {done.blocked} blocked pair(s)"
    if done.action == "loaded":
        return f"Loaded the organisers' glossary: {counts}."
    if done.action == "removed":
        return (
            "Removed the organisers' glossary the previous catalogue brought: this one has no "
            f"{GLOSSARY_FILE}."
        )
    if done.action == "kept":
        return (
            f"Kept the organisers' glossary loaded from {done.source} ({counts}); "
            "`kb glossary clear` removes it."
        )
    return None


@click.group("glossary", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the pairs as JSON.")
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Leave out mined pairs found fewer times (the organisers' are always listed).",
)
@click.pass_context
def glossary(ctx: click.Context, as_json: bool, min_count: int) -> None:
    """Term pairs search uses across languages, and where each comes from: the organisers'
    glossary (`kb glossary load`, or glossary.yaml in the catalogue) first, then the Chinese
    terms and their English mined from the stored material (`卷积神经网络（CNN）`), the
    commonest first, with where each was found."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.find_object(CliContext)
    if obj is None:
        raise click.ClickException("internal error: the kb group did not set its CliContext")
    searcher_glossary = obj.open_kb().searcher.glossary
    if as_json:
        emit_json(glossary_listing(searcher_glossary, min_count))
        return
    organisers = searcher_glossary.organisers()
    entries = listed_entries(searcher_glossary, min_count)
    if not entries:
        click.echo("No term pairs found: the material names no Chinese term with its English.")
    for entry in entries:
        source = entry.source if entry.used else f"{entry.source} ({entry.because}: not used)"
        click.echo(
            f"{entry.chinese}\t{entry.english}\t{entry.count}\t{', '.join(entry.sources)}\t{source}"
        )
    if organisers is not None and organisers.blocked:
        blocked = ", ".join(f"{pair.chinese} = {pair.english}" for pair in organisers.blocked)
        click.echo(f"Blocked by the organisers (never used): {blocked}")


@glossary.command("load")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def load(obj: CliContext, file: Path, as_json: bool) -> None:
    """Check FILE (a glossary.yaml: terms and block) and make it the organisers' glossary,
    replacing the stored one, for every process that searches this knowledge base.

    Every fault is reported at once, with its line; a faulty file changes nothing.
    """
    try:
        organisers = read_glossary_file(file, "file")
    except GlossaryInvalidError as exc:
        if as_json:
            emit_json({"loaded": False, "faults": [_fault_json(f) for f in exc.faults]})
        raise CliError(str(exc)) from None
    keep_organisers(obj, organisers)
    if as_json:
        emit_json({"loaded": True, **summary(organisers)})
        return
    click.echo(f"Loaded the organisers' glossary: {describe(organisers)}.")


@glossary.command("clear")
@click.pass_obj
def clear(obj: CliContext) -> None:
    """Remove the organisers' glossary: search goes back to the mined pairs and the
    dictionary (the mined pairs are kept: they come from the material)."""
    keep_organisers(obj, None)
    click.echo("Organisers' glossary removed: search uses the mined pairs and the dictionary.")


def _fault_json(fault: GlossaryFault) -> dict[str, Any]:
    return {"file": fault.file, "line": fault.line, "entry": fault.entry, "message": fault.message}


def register(group: click.Group) -> None:
    group.add_command(glossary)
