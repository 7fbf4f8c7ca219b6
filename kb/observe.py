"""Instrumentation hooks: what kb tells an observer about its searches and its encoder.

kb knows nothing of Prometheus (or of any exporter): it offers plain hooks, and the api layer
(`api.metrics`) turns them into metrics. A hook left unset costs one attribute check, so a
library user, a test or `kb search` pays nothing for instrumentation they do not read.

- `Searcher.observer` (a `SearchObserver`): each search's mode, outcome and time, and the
  time of each stage (`STAGES`): the query's encoding, the dense and lexical candidate
  searches, and their fusion.
- `EncoderScheduler.encoded` (an `EncodedCounts`): texts, tokens and batches encoded, by
  kind (queries, documents), counted always (a few integer additions per batch) and read
  at scrape time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

Stage = Literal["encode", "dense", "lexical", "fuse"]
STAGES: tuple[Stage, ...] = ("encode", "dense", "lexical", "fuse")
Outcome = Literal["hits", "no_hits", "error"]
OUTCOMES: tuple[Outcome, ...] = ("hits", "no_hits", "error")
EncodeKind = Literal["query", "document"]


class SearchObserver(Protocol):
    """Told about every search of a `Searcher` (from any thread, so implementations must be
    thread-safe; Prometheus' metric objects are)."""

    def stage(self, stage: Stage, seconds: float) -> None:
        """One stage of a search took `seconds` (a search runs some stages, not always all:
        a lexical search encodes nothing)."""

    def searched(self, mode: str, outcome: Outcome, seconds: float) -> None:
        """A search in `mode` ended with `outcome` ("error": it raised) after `seconds`."""


@dataclass
class EncodedCounts:
    """What an encoder has encoded since it was loaded, by kind: monotonic counters.

    `tokens` counts the model's input tokens (padding excluded) where the model reports them
    (the ONNX variants do, through `last_batch_tokens`); elsewhere it stays at 0."""

    texts: dict[EncodeKind, int] = field(default_factory=lambda: {"query": 0, "document": 0})
    tokens: dict[EncodeKind, int] = field(default_factory=lambda: {"query": 0, "document": 0})
    batches: dict[EncodeKind, int] = field(default_factory=lambda: {"query": 0, "document": 0})
    seconds: dict[EncodeKind, float] = field(
        default_factory=lambda: {"query": 0.0, "document": 0.0}
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, kind: EncodeKind, texts: int, tokens: int, seconds: float) -> None:
        with self._lock:
            self.texts[kind] += texts
            self.tokens[kind] += tokens
            self.batches[kind] += 1
            self.seconds[kind] += seconds

    def snapshot(self) -> EncodedCounts:
        """A consistent copy, for a reader in another thread."""
        with self._lock:
            return EncodedCounts(
                dict(self.texts), dict(self.tokens), dict(self.batches), dict(self.seconds)
            )


__all__ = [
    "OUTCOMES",
    "STAGES",
    "EncodeKind",
    "EncodedCounts",
    "Outcome",
    "SearchObserver",
    "Stage",
]
