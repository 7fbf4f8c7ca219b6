"""Prometheus metrics: kb's hooks (kb.observe, the job queue's `on_finished`) turned into
counters and histograms, and the store's sizes read at scrape time.

One `Metrics` per process, on a registry of its own (not prometheus_client's global one), so
that every app a test builds starts from zero and `kb worker` exposes exactly the same names
as `kb serve`. The HTTP side (requests, latency per route, sizes) is
prometheus-fastapi-instrumentator's, on the same registry (`api.http.observability`).

Names (docs/operations.md, "Metrics"):

- `kb_searches_total{mode, outcome}`: outcome `hits`, `no_hits` or `error` (it raised);
  `kb_search_seconds{mode}`: a whole search; `kb_search_stage_seconds{stage}`: `encode` (the
  query's vector), `dense`, `lexical`, `fuse`.
- `kb_ingest_jobs{state}`: the queue's depth (`queued`, `running`); with PostgreSQL, the
  shared queue's. `kb_ingest_jobs_finished_total{outcome}`: jobs this process ran (`done`,
  `failed`).
- `kb_documents`, `kb_chunks`, `kb_pending_embeddings_chunks`, `kb_pending_embeddings_documents`.
- `kb_encoder_texts_total{kind}`, `kb_encoder_tokens_total{kind}`,
  `kb_encoder_batches_total{kind}`, `kb_encoder_seconds_total{kind}`: kind `query` or
  `document`; texts (or tokens) per second is `rate(kb_encoder_texts_total[5m])`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kb.observe import OUTCOMES, STAGES, Outcome, Stage

if TYPE_CHECKING:
    from ingest.jobs.base import Job, JobQueue
    from kb import KnowledgeBase

log = logging.getLogger("api.metrics")

# a search stage takes from under a millisecond (fusion) to a few hundred (a cold encode)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The service's own metrics on `registry`; a `kb.observe.SearchObserver` for the
    searcher and the job queue's `on_finished`.

    `attach` wires it to a knowledge base and a job queue (and registers what is read at
    scrape time); until then only the counters exist, at zero."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.searches = Counter(
            "kb_searches",
            "Searches by mode and outcome (hits, no_hits, error).",
            ["mode", "outcome"],
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "kb_search_seconds",
            "Time of a whole search, by mode.",
            ["mode"],
            buckets=SEARCH_BUCKETS,
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "kb_search_stage_seconds",
            "Time of one stage of a search: encode, dense, lexical, fuse.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "kb_ingest_jobs_finished",
            "Ingest jobs this process ran, by outcome (done, failed).",
            ["outcome"],
            registry=self.registry,
        )
        for stage in STAGES:  # every series present from the start, at zero
            self.stage_seconds.labels(stage)
        for outcome in ("done", "failed"):
            self.jobs_finished.labels(outcome)
        self._attached: _ScrapeTime | None = None

    # -- kb.observe.SearchObserver -----------------------------------------------------------
    def stage(self, stage: Stage, seconds: float) -> None:
        self.stage_seconds.labels(stage).observe(seconds)

    def searched(self, mode: str, outcome: Outcome, seconds: float) -> None:
        self.searches.labels(mode, outcome).inc()
        self.search_seconds.labels(mode).observe(seconds)

    # -- the job queue's on_finished ----------------------------------------------------------
    def job_finished(self, job: Job) -> None:
        self.jobs_finished.labels(job.state).inc()

    def attach(self, knowledge_base: KnowledgeBase, jobs: JobQueue | None) -> None:
        """Observe `knowledge_base`'s searches and `jobs`' outcomes, and read their sizes at
        each scrape. Once per Metrics; `detach` undoes it (at shutdown)."""
        if self._attached is not None:
            raise RuntimeError("These metrics already observe a knowledge base.")
        knowledge_base.searcher.observer = self
        for mode in ("hybrid", "dense", "lexical"):
            for outcome in OUTCOMES:
                self.searches.labels(mode, outcome)
        if jobs is not None:
            jobs.on_finished = self.job_finished
        self._attached = _ScrapeTime(knowledge_base, jobs)
        self.registry.register(self._attached)

    def detach(self) -> None:
        attached = self._attached
        if attached is None:
            return
        if attached.kb.searcher.observer is self:
            attached.kb.searcher.observer = None
        if attached.jobs is not None:
            attached.jobs.on_finished = None
        self.registry.unregister(attached)
        self._attached = None


class _ScrapeTime(Collector):
    """What is read when Prometheus scrapes: the store's sizes, the queue's depth and the
    encoder's counters. A part that cannot be read (the database down) is left out of that
    scrape and logged; the rest is still answered."""

    def __init__(self, knowledge_base: KnowledgeBase, jobs: JobQueue | None) -> None:
        self.kb = knowledge_base
        self.jobs = jobs

    def describe(self) -> list[Metric]:
        return []  # not known before a scrape: no duplicate-name check at register

    def collect(self) -> Iterator[Metric]:
        try:
            store = self.kb.store
            yield GaugeMetricFamily("kb_documents", "Documents stored.", store.count_documents())
            yield GaugeMetricFamily("kb_chunks", "Chunks stored.", store.count_chunks())
            pending = self.kb.pending()
            yield GaugeMetricFamily(
                "kb_pending_embeddings_chunks",
                "Chunks stored for their words, still waiting for vectors.",
                pending.chunks,
            )
            yield GaugeMetricFamily(
                "kb_pending_embeddings_documents",
                "Documents with chunks still waiting for vectors.",
                pending.documents,
            )
        except Exception as exc:
            log.warning("metrics: the store's sizes could not be read: %s", type(exc).__name__)
        if self.jobs is not None:
            try:
                counts = self.jobs.counts()
            except Exception as exc:
                log.warning("metrics: the job queue could not be read: %s", type(exc).__name__)
            else:
                depth = GaugeMetricFamily(
                    "kb_ingest_jobs", "Ingest jobs in the queue, by state.", labels=["state"]
                )
                for state in ("queued", "running"):
                    depth.add_metric([state], counts.get(state, 0))
                yield depth
        yield from self._encoder()

    def _encoder(self) -> Iterator[Metric]:
        encoded = getattr(self.kb.embedder, "encoded", None)  # ScheduledEmbedder's
        families = {
            "texts": CounterMetricFamily(
                "kb_encoder_texts", "Texts encoded, by kind.", labels=["kind"]
            ),
            "tokens": CounterMetricFamily(
                "kb_encoder_tokens",
                "Input tokens encoded (padding excluded; ONNX variants), by kind.",
                labels=["kind"],
            ),
            "batches": CounterMetricFamily(
                "kb_encoder_batches", "Model calls, by kind.", labels=["kind"]
            ),
            "seconds": CounterMetricFamily(
                "kb_encoder_seconds", "Time in the model, by kind.", labels=["kind"]
            ),
        }
        for kind in ("query", "document"):
            families["texts"].add_metric([kind], 0 if encoded is None else encoded.texts[kind])
            families["tokens"].add_metric([kind], 0 if encoded is None else encoded.tokens[kind])
            families["batches"].add_metric([kind], 0 if encoded is None else encoded.batches[kind])
            families["seconds"].add_metric(
                [kind], 0.0 if encoded is None else encoded.seconds[kind]
            )
        yield from families.values()


def serve_metrics(metrics: Metrics, port: int, host: str = "0.0.0.0") -> Any:
    """`kb worker`'s own /metrics: prometheus_client's server on `port`, in a daemon thread
    (it stops with the process, or with the returned server's `shutdown()` and
    `server_close()`). Raises OSError
    when the port is taken."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server


__all__ = ["Metrics", "serve_metrics"]
