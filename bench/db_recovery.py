"""How long the service takes to serve again after its PostgreSQL comes back: the database
is stopped (immediate shutdown) while searches run, a search is checked to answer 503, the
database is started again, and the time from "the server accepts connections" to the first
search answered 200 is measured; p50 over --restarts restarts -> bench/results/db_recovery.json.

Run: .venv/bin/python bench/db_recovery.py [--restarts 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import save  # noqa: E402
from tests.api_helpers import CORPUS, auth, ingest, running_client  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402
from tests.pg_helpers import (  # noqa: E402
    fresh_database,
    pause_server,
    resume_server,
    start_private_server,
    stop_private_server,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--restarts", type=int, default=5)
    args = parser.parse_args()
    recoveries: list[float] = []
    outage_answers: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server, url = start_private_server(root / "pg")
        try:
            database = fresh_database(url)
            with running_client(root / "app", HashingEmbedder(), database_url=database) as c:
                ingest(c, CORPUS)

                def search() -> Any:
                    return c.get("/search", params={"q": "tuning"}, headers=auth("organiser"))

                for _ in range(args.restarts):
                    assert search().status_code == 200
                    pause_server(server)
                    started = time.perf_counter()
                    down = search()
                    outage_answers.append(
                        {
                            "status": down.status_code,
                            "retry_after": down.headers.get("Retry-After"),
                            "seconds": round(time.perf_counter() - started, 3),
                        }
                    )
                    resume_server(server)
                    back = time.perf_counter()
                    while search().status_code != 200:
                        time.sleep(0.01)
                    recoveries.append(time.perf_counter() - back)
        finally:
            stop_private_server(server)
    save(
        "db_recovery",
        {
            "restarts": args.restarts,
            "recovery_seconds_p50": round(statistics.median(recoveries), 3),
            "recovery_seconds": [round(r, 3) for r in recoveries],
            "during_outage": outage_answers,
        },
    )


if __name__ == "__main__":
    main()
