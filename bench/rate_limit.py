"""Per-key rate limits under load: 10 clients on one key against KB_RATE_LIMIT_SEARCH=5/second,
with another key searching alongside; on one service over SQLite (limits in memory) and on
two replicas over one PostgreSQL (the count shared in the database).

Run: .venv/bin/python bench/rate_limit.py [--seconds 10] [--clients 10]

Each replica is a full app (the lifespan, the stores, the routes) over a private pgserver;
the model is tests.fakes.HashingEmbedder, since what is measured is the limiter, not the
encoder. Figures: the steady accepted rate (tests.load_helpers.Load.steady_rate), the raw one,
statuses, and the other key's statuses -> bench/results/rate_limit.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import save  # noqa: E402
from tests.api_helpers import CORPUS, auth, ingest, running_client  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402
from tests.load_helpers import hammer  # noqa: E402
from tests.pg_helpers import fresh_database, start_private_server, stop_private_server  # noqa: E402

LIMIT = 5


def _run(clients: list[Any], other: Any, seconds: float, n: int) -> dict[str, Any]:
    def send(client: Any, who: str) -> Any:
        return lambda: client.get(
            "/search", params={"q": "hyperparameter tuning", "mode": "lexical"}, headers=auth(who)
        )

    others: list[int] = []

    def other_key() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            others.append(send(other, "liam")().status_code)
            time.sleep(1 / 3)

    side = threading.Thread(target=other_key)
    side.start()
    load = hammer([send(clients[i % len(clients)], "organiser") for i in range(n)], seconds)
    side.join()
    return {
        "limit_per_second": LIMIT,
        "clients": n,
        "seconds": seconds,
        "steady_accepted_per_second": round(load.steady_rate, 3),
        "raw_accepted_per_second": round(load.raw_rate, 3),
        "within_10_percent": abs(load.steady_rate - LIMIT) <= 0.1 * LIMIT,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "server_errors": load.server_errors,
        "other_key_statuses": {str(s): others.count(s) for s in sorted(set(others))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    embedder = HashingEmbedder()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with running_client(root / "sqlite", embedder, rate_limit_search=f"{LIMIT}/second") as c:
            ingest(c, CORPUS)
            results["sqlite_one_service"] = _run([c], c, args.seconds, args.clients)
        server, url = start_private_server(root / "pg")
        try:
            database = fresh_database(url)
            with ExitStack() as stack:
                replicas = [
                    stack.enter_context(
                        running_client(
                            root / f"replica-{n}",
                            embedder,
                            database_url=database,
                            rate_limit_search=f"{LIMIT}/second",
                        )
                    )
                    for n in range(2)
                ]
                ingest(replicas[0], CORPUS)
                results["postgresql_two_replicas"] = _run(
                    replicas, replicas[1], args.seconds, args.clients
                )
        finally:
            stop_private_server(server)
    save("rate_limit", results)


if __name__ == "__main__":
    main()
