"""Did a search find something good? The best hit's score, per search mode and query language,
against a threshold calibrated on labelled queries (`bench/gap_threshold.py`).

A threshold separates the searches whose top hit is relevant from those whose top hit is not:
it is the score that maximises balanced accuracy (the mean of the share of good searches kept
above it and the share of bad ones put below it) on the labelled queries. Where the score
does not separate them at all (an AUC under `MIN_AUC`, or a score that is the same for every
query, as hybrid's is for Chinese queries answered by BM25 alone), there is no threshold and
the score says nothing: such a search counts as failed only when it finds no hit.

The scores are on each mode's own scale (hybrid: reciprocal-rank fusion, where 2/61 means
that both sides put the same document first; dense: cosine; lexical: BM25), and depend on the
model: the thresholds below are the default model's (all-MiniLM-L6-v2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kb.language.terms import language_of

MIN_AUC = 0.65  # below this the score hardly tells a good search from a bad one

# (mode, query language) -> the best hit's score from which a search counts as having found
# something good; None: the score does not tell. Calibrated by bench/gap_threshold.py on
# data/sample/queries.jsonl (bench/results/gap_threshold.json); a test recomputes them.
THRESHOLDS: Mapping[tuple[str, str], float | None] = {
    ("hybrid", "en"): 0.032655,
    ("hybrid", "zh"): None,
    ("dense", "en"): None,
    ("dense", "zh"): 0.630047,
    ("lexical", "en"): 14.835021,
    ("lexical", "zh"): 18.606212,
}


@dataclass(frozen=True)
class Observation:
    """One labelled query searched in one mode: its top hit's score and whether it is relevant."""

    mode: str
    language: str
    score: float
    relevant: bool


@dataclass(frozen=True)
class Calibration:
    """The threshold of one (mode, language) and how well it separates, on `queries` queries
    of which `relevant` had a relevant top hit."""

    mode: str
    language: str
    threshold: float | None
    queries: int
    relevant: int
    auc: float | None
    balanced_accuracy: float | None
    good_above: int  # relevant top hit, score at or above the threshold
    good_below: int  # relevant top hit, but flagged as failed
    bad_below: int  # irrelevant top hit, flagged as failed
    bad_above: int  # irrelevant top hit, not flagged


def auc(scores: Sequence[float], relevant: Sequence[bool]) -> float | None:
    """The chance that a relevant search scores above an irrelevant one (ties count half)."""
    good = [s for s, r in zip(scores, relevant, strict=True) if r]
    bad = [s for s, r in zip(scores, relevant, strict=True) if not r]
    if not good or not bad:
        return None
    wins = sum(1.0 if g > b else 0.5 if g == b else 0.0 for g in good for b in bad)
    return wins / (len(good) * len(bad))


def calibrate_one(
    mode: str, language: str, scores: Sequence[float], relevant: Sequence[bool]
) -> Calibration:
    """The threshold with the best balanced accuracy, halfway between two observed scores
    (ties: the lower one, which flags fewer searches); None where the score does not tell."""
    n_good = sum(relevant)
    n_bad = len(relevant) - n_good
    area = auc(scores, relevant)
    distinct = sorted(set(scores))
    best: tuple[float, float] | None = None  # (balanced accuracy, threshold)
    if area is not None and area >= MIN_AUC and len(distinct) > 1:
        for low, high in zip(distinct, distinct[1:], strict=False):
            cut = round((low + high) / 2, 6)
            kept = sum(1 for s, r in zip(scores, relevant, strict=True) if r and s >= cut)
            dropped = sum(1 for s, r in zip(scores, relevant, strict=True) if not r and s < cut)
            balanced = (kept / n_good + dropped / n_bad) / 2
            if best is None or balanced > best[0] + 1e-12:
                best = (balanced, cut)
    threshold = None if best is None else best[1]

    def count(want: bool, above: bool) -> int:
        if threshold is None:
            return sum(1 for r in relevant if r == want) if above else 0
        return sum(
            1
            for s, r in zip(scores, relevant, strict=True)
            if r == want and (s >= threshold) == above
        )

    return Calibration(
        mode=mode,
        language=language,
        threshold=threshold,
        queries=len(scores),
        relevant=n_good,
        auc=None if area is None else round(area, 4),
        balanced_accuracy=None if best is None else round(best[0], 4),
        good_above=count(True, True),
        good_below=count(True, False),
        bad_below=count(False, False),
        bad_above=count(False, True),
    )


def calibrate(observations: Iterable[Observation]) -> list[Calibration]:
    """One calibration per (mode, language) present, in order of first appearance."""
    groups: dict[tuple[str, str], list[Observation]] = {}
    for item in observations:
        groups.setdefault((item.mode, item.language), []).append(item)
    return [
        calibrate_one(mode, language, [o.score for o in rows], [o.relevant for o in rows])
        for (mode, language), rows in groups.items()
    ]


def found_something_good(
    mode: str,
    query: str,
    best_score: float | None,
    thresholds: Mapping[tuple[str, str], float | None] = THRESHOLDS,
) -> bool:
    """False when the search found no hit, or its best hit scored under the threshold of its
    mode and the query's language; True otherwise (also where no threshold applies)."""
    if best_score is None:
        return False
    threshold = thresholds.get((mode, language_of(query)))
    return threshold is None or best_score >= threshold


__all__ = [
    "MIN_AUC",
    "THRESHOLDS",
    "Calibration",
    "Observation",
    "auc",
    "calibrate",
    "calibrate_one",
    "found_something_good",
]
