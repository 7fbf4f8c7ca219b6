"""`kb worker --metrics-port`: the same metrics as `kb serve`'s /metrics, on a port of the
worker's own (prometheus_client's server), for Prometheus to scrape each worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.cli.common import CliError

if TYPE_CHECKING:
    from ingest.jobs.base import JobQueue
    from kb import KnowledgeBase


def start_worker_metrics(kb: KnowledgeBase, jobs: JobQueue, port: int | None) -> None:
    """Count `kb`'s encoder and `jobs`' outcomes and serve them on `port` (all interfaces:
    keep the port inside the private network); nothing without a port."""
    if port is None:
        return
    from api.metrics import Metrics, serve_metrics

    metrics = Metrics()
    metrics.attach(kb, jobs)
    try:
        serve_metrics(metrics, port)
    except OSError as exc:
        raise CliError(
            f"Cannot serve metrics on port {port} ({exc.strerror or exc}): choose a free one "
            "with --metrics-port or KB_METRICS_PORT."
        ) from None
