"""Retrieval quality on a labelled query set: recall@k, MRR@k and nDCG@k per search mode."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError
from kb.types import Hit


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant: frozenset[str]


def load_queries(path: Path) -> list[LabelledQuery]:
    """JSON lines of {"query": ..., "relevant": [source, ...]}; faults name the line."""
    queries: list[LabelledQuery] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KBError(f"Cannot read the query file {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            query, relevant = item["query"], item["relevant"]
        except (ValueError, KeyError, TypeError) as exc:
            raise KBError(
                f'{path}, line {number}: expected {{"query": ..., "relevant": [...]}}'
            ) from exc
        if not isinstance(query, str) or not isinstance(relevant, list) or not relevant:
            raise KBError(f"{path}, line {number}: 'query' must be text, 'relevant' a list")
        queries.append(LabelledQuery(query, frozenset(str(r) for r in relevant)))
    if not queries:
        raise KBError(f"{path} holds no queries.")
    return queries


def recall_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def mrr_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    gain = sum(
        1.0 / math.log2(position + 1)
        for position, item in enumerate(ranked[:k], start=1)
        if item in relevant
    )
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(k, len(relevant)) + 1))
    return gain / ideal


def evaluate(
    queries: Sequence[LabelledQuery], rank: Callable[[str], list[str]], k: int = 10
) -> dict[str, float]:
    """Mean metrics of `rank` (query -> ranked sources) over the query set."""
    totals = {"recall": 0.0, "mrr": 0.0, "ndcg": 0.0}
    for item in queries:
        ranked = rank(item.query)
        totals["recall"] += recall_at(ranked, item.relevant, k)
        totals["mrr"] += mrr_at(ranked, item.relevant, k)
        totals["ndcg"] += ndcg_at(ranked, item.relevant, k)
    return {f"{name}@{k}": value / len(queries) for name, value in totals.items()}


def compare_modes(
    search: Callable[..., Sequence[Hit]],
    queries: Sequence[LabelledQuery],
    k: int = 10,
    modes: Sequence[str] = ("dense", "lexical", "hybrid"),
) -> dict[str, dict[str, float]]:
    """Metrics per search mode; `search(query, k=..., mode=...)` is e.g. KnowledgeBase.search."""

    def ranker(mode: str) -> Callable[[str], list[str]]:
        return lambda query: [hit.source for hit in search(query, k=k, mode=mode)]

    return {mode: evaluate(queries, ranker(mode), k) for mode in modes}
