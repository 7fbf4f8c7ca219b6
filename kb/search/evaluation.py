"""Retrieval quality on a labelled query set: recall@k, MRR@k and nDCG@k per search mode."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KBError
from kb.types import Hit

LANG_PAIR = re.compile(r"[a-z]{2,3}->[a-z]{2,3}")


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    relevant: frozenset[str]
    lang: str | None = None  # "zh->en": a Chinese question answered by English material


def load_queries(path: Path) -> list[LabelledQuery]:
    """JSON lines of {"query": ..., "relevant": [source, ...], "lang": "en->zh"} ("lang"
    optional: query language -> material language); faults name the line."""
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
        lang = item.get("lang")
        if lang is not None and not (isinstance(lang, str) and LANG_PAIR.fullmatch(lang)):
            raise KBError(
                f"{path}, line {number}: 'lang' must look like \"zh->en\" (the query's "
                "language, then the material's), not {lang!r}"
            )
        queries.append(LabelledQuery(query, frozenset(str(r) for r in relevant), lang))
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


def _scores(ranked: Sequence[str], relevant: frozenset[str], k: int) -> dict[str, float]:
    return {
        f"recall@{k}": recall_at(ranked, relevant, k),
        f"mrr@{k}": mrr_at(ranked, relevant, k),
        f"ndcg@{k}": ndcg_at(ranked, relevant, k),
    }


def ranked_sources(hits: Sequence[Hit]) -> list[str]:
    """The documents a result list shows, in order: each hit's document, then the parts of
    its training session that matched the query (search collapses a session into one
    result that lists them, docs/sessions.md), so a relevant deck listed under a transcript's
    result counts as found, right after it."""
    ranked: list[str] = []
    for hit in hits:
        ranked.append(hit.source)
        ranked.extend(part.source for part in hit.parts if part.matched)
    return list(dict.fromkeys(ranked))


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]}


def evaluate(
    queries: Sequence[LabelledQuery], rank: Callable[[str], list[str]], k: int = 10
) -> dict[str, float]:
    """Mean metrics of `rank` (query -> ranked sources) over the query set."""
    return _mean([_scores(rank(item.query), item.relevant, k) for item in queries])


def compare_modes(
    search: Callable[..., Sequence[Hit]],
    queries: Sequence[LabelledQuery],
    k: int = 10,
    modes: Sequence[str] = ("dense", "lexical", "hybrid"),
) -> dict[str, dict[str, float]]:
    """Metrics per search mode; `search(query, k=..., mode=...)` is e.g. KnowledgeBase.search."""
    return compare_by_language(search, queries, k, modes)[ALL]


ALL = "all"


def compare_by_language(
    search: Callable[..., Sequence[Hit]],
    queries: Sequence[LabelledQuery],
    k: int = 10,
    modes: Sequence[str] = ("dense", "lexical", "hybrid"),
) -> dict[str, dict[str, dict[str, float]]]:
    """{"all" or a language pair like "zh->en": {mode: metrics}}, each query run once per
    mode; queries without a `lang` count in "all" only."""
    groups: dict[str, list[int]] = {ALL: list(range(len(queries)))}
    for index, item in enumerate(queries):
        if item.lang is not None:
            groups.setdefault(item.lang, []).append(index)
    result: dict[str, dict[str, dict[str, float]]] = {group: {} for group in groups}
    for mode in modes:
        rows = [
            _scores(ranked_sources(search(item.query, k=k, mode=mode)), item.relevant, k)
            for item in queries
        ]
        for group, members in groups.items():
            result[group][mode] = _mean([rows[i] for i in members])
    return result
