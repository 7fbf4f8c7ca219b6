"""Learned ranking (kb.search.ranking): a LambdaRank model over the fused candidates, trained
on labelled queries and readers' thumbs, kept with the store, used only when it beat fusion
on held-out folds, and never moved by one reader past its cap.

The real model over the sample corpus (its labelled queries are the training data); the
session's sample store is shared, so every test here leaves it without a ranking model."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from kb import KnowledgeBase
from kb.errors import KBError
from kb.search.evaluation import load_queries
from kb.search.ranking import (
    FEATURES,
    FEEDBACK_CAP,
    PAIR_TOLERANCE,
    RANKING_KEY,
    RERANK_DEPTH,
    CandidateEvidence,
    LearnedRanker,
    ReaderCounts,
    TrainingQuery,
    cross_validate,
    features_of,
    feedback_training,
    labelled_training,
    train_ranker,
)

SAMPLE_QUERIES = Path(__file__).resolve().parents[2] / "data" / "sample" / "queries.jsonl"


@pytest.fixture
def ranked_kb(sample_kb: KnowledgeBase) -> Iterator[KnowledgeBase]:
    """The sample store, left without a ranking model afterwards whatever the test did."""
    yield sample_kb
    sample_kb.store.set_meta(RANKING_KEY, None)
    sample_kb.searcher.reader_signals = None
    sample_kb.searcher.forget_ranker()


def _training(kb: KnowledgeBase) -> list[TrainingQuery]:
    sources = {doc.source: doc.doc_id for doc in kb.list_documents()}
    return labelled_training(load_queries(SAMPLE_QUERIES), kb.searcher.candidates, sources)


def test_a_candidates_features_are_what_search_knew_with_readers_capped() -> None:
    evidence = CandidateEvidence(
        dense=(3, 0.61),
        lexical=None,
        fused_score=0.03,
        fused_rank=2,
        title="Overfitting and regularisation",
        heading="过拟合",
        body="过拟合 means the model learns the noise.",
        doc_type="markdown",
        doc_date="2026-11-30",
        thumbs_up=1000,  # one key voting a thousand times is counted once upstream; capped here
        thumbs_down=2,
        opens=7,
    )
    stems = {"overfit"}
    row = dict(zip(FEATURES, features_of(stems, False, evidence, date(2026, 12, 3)), strict=True))
    assert row["dense_rank"] == 3 and row["lexical_rank"] > RERANK_DEPTH
    assert row["found_by_both"] == 0.0 and row["title_match"] == 1.0
    assert row["thumbs_up"] == FEEDBACK_CAP and row["thumbs_down"] == 2
    assert row["opens"] == FEEDBACK_CAP and row["age_days"] == 3.0
    assert 0.0 < row["chunk_chinese_share"] < 0.5


def test_training_keeps_the_model_only_when_it_beats_fusion_on_held_out_folds(
    ranked_kb: KnowledgeBase,
) -> None:
    ranker = train_ranker(_training(ranked_kb), folds=5)
    evaluation = ranker.evaluation
    assert evaluation.queries >= 80 and len(evaluation.per_fold) == 5
    # Used for a query language only where it beat fusion there and cost no labelled pair
    # more than the gate.
    for language, found in evaluation.by_language.items():
        wins = found.model_ndcg > found.fusion_ndcg
        no_pair_lost = all(m >= f - PAIR_TOLERANCE for _, f, m in found.pairs.values())
        assert ranker.used_for(language) == (wins and no_pair_lost), (language, found)
    assert set(evaluation.by_language) == {"en", "zh"}
    assert {"en->en", "en->zh"} <= set(evaluation.by_language["en"].pairs)
    ranked_kb.store.set_meta(RANKING_KEY, ranker.to_json())
    ranked_kb.searcher.forget_ranker()
    shown = ranked_kb.stats()["ranking"]
    assert shown["used"] == ranker.used
    assert shown["fusion_ndcg@10"] == round(evaluation.fusion_ndcg, 4)
    # The same model, stored as though it had lost to fusion: search does not use it.
    lost = dataclasses.replace(
        evaluation,
        model_ndcg=evaluation.fusion_ndcg - 0.01,
        by_language={
            language: dataclasses.replace(found, model_ndcg=found.fusion_ndcg - 0.01)
            for language, found in evaluation.by_language.items()
        },
    )
    loser = LearnedRanker(ranker.model_text, lost, ranker.trained_at)
    ranked_kb.store.set_meta(RANKING_KEY, loser.to_json())
    ranked_kb.searcher.forget_ranker()
    assert ranked_kb.searcher.active_ranker() is None
    assert ranked_kb.stats()["ranking"]["used"] is False


def test_a_used_model_reorders_results_and_one_reader_moves_nothing_past_the_cap(
    ranked_kb: KnowledgeBase,
) -> None:
    training = _training(ranked_kb)
    # Readers' thumbs as the training sees them: the labelled answers voted up by 3 people.
    voted = [
        dataclasses.replace(
            item,
            candidates=[
                dataclasses.replace(
                    c, features=_with_thumbs(c.features, c.doc_id in item.relevant_docs)
                )
                for c in item.candidates
            ],
        )
        for item in training
    ]
    ranker = train_ranker(voted, folds=5)
    assert ranker.used, ranker.evaluation  # thumbs that agree with the labels are learnt
    ranked_kb.store.set_meta(RANKING_KEY, ranker.to_json())
    ranked_kb.searcher.forget_ranker()
    query = "how do I stop the model from favouring the majority label"
    fused = [h.doc_id for h in _fusion(ranked_kb, query)]
    bad = fused[9]  # a hit far down the first page
    votes_of = {}

    def signals(_query: str) -> dict[str, ReaderCounts]:
        return votes_of

    ranked_kb.searcher.reader_signals = signals
    votes_of = {bad: ReaderCounts(up=FEEDBACK_CAP)}
    at_cap = [h.doc_id for h in ranked_kb.search(query)]
    votes_of = {bad: ReaderCounts(up=1000)}
    past_cap = [h.doc_id for h in ranked_kb.search(query)]
    assert past_cap == at_cap  # a thousand votes weigh what the cap's five do
    assert at_cap.index(bad) < fused.index(bad)  # and readers' votes do count, up to it


def _with_thumbs(features: tuple[float, ...], up: bool) -> tuple[float, ...]:
    if not features:
        return features
    row = list(features)
    row[FEATURES.index("thumbs_up")] = 3.0 if up else 0.0
    return tuple(row)


def _fusion(kb: KnowledgeBase, query: str) -> list:
    kb.searcher.use_learned_ranking = False
    try:
        return kb.search(query)
    finally:
        kb.searcher.use_learned_ranking = True


def test_feedback_turns_votes_into_training_queries_and_labels_win(
    ranked_kb: KnowledgeBase,
) -> None:
    votes = {
        ("Imbalanced  classes", "d1"): ReaderCounts(up=2, down=1),
        ("imbalanced classes", "d2"): ReaderCounts(up=0, down=3),
        ("labelled already", "d3"): ReaderCounts(up=4),
    }
    found = feedback_training(votes, lambda q: [], labelled=["Labelled  Already"])
    assert [(t.query, t.relevant_docs, t.from_feedback) for t in found] == [
        ("Imbalanced  classes", frozenset({"d1"}), True)
    ]


def test_too_few_useful_queries_is_a_clear_error() -> None:
    with pytest.raises(KBError, match="Label more queries"):
        cross_validate([TrainingQuery("q", [], frozenset({"x"}))], folds=5)


def test_kb_rank_train_show_and_clear(ranked_kb: KnowledgeBase, tmp_path: Path) -> None:
    runner = CliRunner()
    context = CliContext(home=tmp_path, knowledge_base=ranked_kb)
    trained = runner.invoke(
        main,
        ["rank", "train", "--queries", str(SAMPLE_QUERIES), "--no-feedback", "--json"],
        obj=context,
    )
    assert trained.exit_code == 0, trained.output
    ranking = json.loads(trained.output)["ranking"]
    assert ranking["labelled_queries"] >= 80 and ranking["feedback_queries"] == 0
    shown = runner.invoke(main, ["rank", "show"], obj=context)
    assert "held-out folds: fusion" in shown.output
    cleared = runner.invoke(main, ["rank", "clear"], obj=context)
    assert cleared.exit_code == 0 and ranked_kb.stats()["ranking"] is None
    nothing = runner.invoke(main, ["rank", "train", "--no-feedback"], obj=context)
    assert nothing.exit_code != 0 and "Nothing to learn from" in nothing.output
