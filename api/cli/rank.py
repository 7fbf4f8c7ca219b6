"""`kb rank train | show | clear`: the learned re-ranker (kb.search.ranking), trained on
labelled queries and readers' thumbs, kept beside the store and used by search for a query
language only where it beat plain fusion on held-out queries without costing any labelled
language pair more than the 0.01 gate (kb.search.ranking.PAIR_TOLERANCE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from api.cli.common import CliContext, CliError, emit_json

_LANGUAGES = {"en": "English", "zh": "Chinese"}


def _evaluation_lines(described: dict[str, Any]) -> list[str]:
    used_for = [_LANGUAGES.get(lang, lang) for lang in described.get("used_for", [])]
    verdict = (
        f"search uses it for {' and '.join(used_for)} queries"
        if used_for
        else "search keeps plain fusion (the model did not beat it)"
    )
    lines = [
        f"trained {described['trained_at']} on {described['queries']} queries "
        f"({described['labelled_queries']} labelled, {described['feedback_queries']} from "
        "readers' thumbs)",
        f"nDCG@10 over {described['folds']} held-out folds: fusion "
        f"{described['fusion_ndcg@10']:.4f}, model {described['model_ndcg@10']:.4f}: {verdict}",
    ]
    for lang, found in described.get("languages", {}).items():
        pairs = ", ".join(
            f"{pair} {row['fusion_ndcg@10']:.3f} -> {row['model_ndcg@10']:.3f}"
            for pair, row in found["pairs"].items()
        )
        lines.append(
            f"  {_LANGUAGES.get(lang, lang)} queries ({found['queries']}): fusion "
            f"{found['fusion_ndcg@10']:.4f}, model {found['model_ndcg@10']:.4f}"
            + (f" [{pairs}]" if pairs else "")
            + (" - used" if found["used"] else " - fusion kept")
        )
    return lines


@click.group("rank")
def rank_group() -> None:
    """The learned ranking: train it, see it, drop it."""


@rank_group.command("train")
@click.option(
    "--queries",
    "query_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help='Labelled queries, JSON lines of {"query": ..., "relevant": [source, ...]} (repeatable).',
)
@click.option("--folds", type=click.IntRange(min=2, max=20), default=5, show_default=True)
@click.option(
    "--feedback/--no-feedback",
    default=True,
    show_default=True,
    help="Also learn from the thumbs readers gave (the search log).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def train(
    obj: CliContext, query_files: tuple[Path, ...], folds: int, feedback: bool, as_json: bool
) -> None:
    """Fit the re-ranker (LightGBM LambdaRank) and keep it with the store; search uses it only
    if its cross-validated nDCG@10 beats fusion's."""
    from kb import KBError
    from kb.search.evaluation import load_queries
    from kb.search.ranking import (
        RANKING_KEY,
        TrainingQuery,
        feedback_training,
        labelled_training,
        train_ranker,
    )

    kb = obj.open_kb()
    searcher = kb.searcher
    training: list[TrainingQuery] = []
    try:
        labelled = [item for path in query_files for item in load_queries(path)]
        if labelled:
            sources = {doc.source: doc.doc_id for doc in kb.list_documents()}
            training += labelled_training(labelled, searcher.candidates, sources)
        if feedback:
            votes = _votes(obj)
            training += feedback_training(votes, searcher.candidates, [q.query for q in labelled])
        if not training:
            raise CliError(
                "Nothing to learn from: give labelled queries (--queries FILE) or let readers "
                "rate results first (thumbs on the search page, kb feedback vote)."
            )
        ranker = train_ranker(training, folds)
    except KBError as exc:
        raise CliError(str(exc)) from exc
    kb.store.set_meta(RANKING_KEY, ranker.to_json())
    searcher.forget_ranker()
    described = ranker.describe()
    if as_json:
        emit_json({"ranking": described, "per_fold": ranker.evaluation.per_fold})
        return
    for line in _evaluation_lines(described):
        click.echo(line)


def _votes(obj: CliContext) -> dict[Any, Any]:
    """The search log's thumbs and opens by (query, document): distinct people (kb.searchlog)."""
    from contextlib import closing

    with closing(obj.backend.open_search_log()) as log:
        return dict(log.feedback_summary())


@rank_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj: CliContext, as_json: bool) -> None:
    """The stored model's evaluation, and whether search uses it."""
    described = obj.open_kb().ranking()
    if as_json:
        emit_json({"ranking": described})
        return
    if described is None:
        click.echo("No learned ranking: search fuses dense and BM25 ranks (kb rank train).")
        return
    for line in _evaluation_lines(described):
        click.echo(line)


@rank_group.command("clear")
@click.pass_obj
def clear(obj: CliContext) -> None:
    """Drop the stored model: search goes back to plain fusion."""
    from kb.search.ranking import RANKING_KEY

    kb = obj.open_kb()
    kb.store.set_meta(RANKING_KEY, None)
    kb.searcher.forget_ranker()
    click.echo("Learned ranking dropped: search fuses dense and BM25 ranks.")


def register(group: click.Group) -> None:
    group.add_command(rank_group)
