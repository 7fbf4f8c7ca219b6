"""How many audit records a second the SQLite audit log writes (kb.audit.sqlite): each append
is one write transaction (read the head, insert, move the head, fsync by WAL's rules), so this
is the ceiling on audited actions per second on one machine; and how long `verify` takes over
what was written. One writer, then four threads sharing the file (each its own connection),
then eight threads sharing one log (the service's case, where appends commit in groups).

Run: .venv/bin/python bench/audit_rate.py [--records 5000]  -> bench/results/audit_rate.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import save, summary_ms  # noqa: E402
from kb.audit.sqlite import DATABASE, SqliteAuditLog  # noqa: E402

DETAIL = {"visibility": ["nlp"], "files": ["a.md", "b.md"]}


def one_writer(folder: Path, n: int) -> dict[str, float]:
    log = SqliteAuditLog(folder / DATABASE)
    times = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        log.append("0123456789abcdef", "document.read_restricted", f"doc-{i}", DETAIL, "10.0.0.7")
        times.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    t = time.perf_counter()
    assert log.verify() is None
    verify_s = time.perf_counter() - t
    log.close()
    return {
        "records_per_second": round(n / elapsed, 1),
        **{f"append_{k}": v for k, v in summary_ms(times).items()},
        "verify_seconds": round(verify_s, 3),
        "verify_records_per_second": round(n / verify_s, 1),
    }


def threads(folder: Path, n: int, writers: int = 4) -> dict[str, float]:
    logs = [SqliteAuditLog(folder / DATABASE) for _ in range(writers)]
    each = n // writers

    def run(log: SqliteAuditLog) -> None:
        for i in range(each):
            log.append("0123456789abcdef", "ingest.upload", f"job-{i}", DETAIL, "10.0.0.7")

    start = time.perf_counter()
    workers = [threading.Thread(target=run, args=(log,)) for log in logs]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    intact = logs[0].verify() is None
    total = logs[0].count()
    for log in logs:
        log.close()
    return {
        "writers": writers,
        "records_per_second": round(each * writers / elapsed, 1),
        "records": total,
        "chain_intact": intact,
    }


def shared_log(folder: Path, n: int, writers: int = 8) -> dict[str, float]:
    """`writers` threads appending through one log, as the service's request threads do (one
    `Auditor` per process): the appends queued while one commits share the next commit."""
    log = SqliteAuditLog(folder / DATABASE)
    each = n // writers

    def run() -> None:
        for i in range(each):
            log.append("0123456789abcdef", "document.read_restricted", f"doc-{i}", DETAIL)

    start = time.perf_counter()
    workers = [threading.Thread(target=run) for _ in range(writers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    intact = log.verify() is None
    log.close()
    return {
        "writers": writers,
        "records_per_second": round(each * writers / elapsed, 1),
        "chain_intact": intact,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as one,
        tempfile.TemporaryDirectory() as many,
        tempfile.TemporaryDirectory() as shared,
    ):
        save(
            "audit_rate",
            {
                "backend": "sqlite",
                "records": args.records,
                "one_writer": one_writer(Path(one), args.records),
                "four_threads": threads(Path(many), args.records),
                "eight_threads_one_log": shared_log(Path(shared), args.records),
            },
        )


if __name__ == "__main__":
    main()
