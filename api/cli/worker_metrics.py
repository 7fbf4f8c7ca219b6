"""`kb worker --metrics-port`: the same metrics as `kb serve`'s /metrics, on a port of the
worker's own (prometheus_client's server), for Prometheus to scrape each worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from api.cli.common import CliError

if TYPE_CHECKING:
    from ingest.jobs.base import JobQueue
    from kb import KnowledgeBase


def start_worker_metrics(
    kb: KnowledgeBase, jobs: JobQueue, port: int | None, host: str = "0.0.0.0"
) -> Any:
    """Count `kb`'s encoder and `jobs`' outcomes and serve them on `port` (all interfaces:
    keep the port inside the private network); nothing without a port. Returns the server
    (None without a port)."""
    if port is None:
        return None
    from api.metrics import Metrics, serve_metrics

    metrics = Metrics()
    metrics.attach(kb, jobs)
    try:
        return serve_metrics(metrics, port, host)
    except OSError as exc:
        raise CliError(
            f"Cannot serve metrics on port {port} ({exc.strerror or exc}): choose a free one "
            "with --metrics-port or KB_METRICS_PORT."
        ) from None
