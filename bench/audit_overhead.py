"""What the audit log costs the HTTP API under load: throughput with the audit log on and off,
side by side, and the records written per second (docs/audit.md).

Run: .venv/bin/python bench/audit_overhead.py [--clients 8] [--seconds 10] [--rounds 3]

Two `kb serve` processes (the real model) on 127.0.0.1 over two copies of one home (the sample
corpus and catalogue, plus a few team-restricted documents): one as shipped, one whose
`Auditor.record` does nothing (patched in that process only: the service itself has no switch
to turn its audit log off, and gets none for a benchmark). Each round drives each server in
turn, in alternating order, with two workloads of `--seconds` each:

- `search`: `GET /search` back to back from `--clients` clients (bench/load_test.py's idle
  phase), which writes one `sign_in` per key and day, and nothing per search;
- `restricted_read`: `GET /documents/{id}` of restricted documents by an admin key: every
  request writes a `document.read_restricted` record, the audit log's worst case.

Reported: per workload and mode, the median over rounds of requests per second, the on/off
ratio of those medians and the median of each round's on/off ratio (the figure to quote on a
shared machine: the two phases of a round run back to back), and (audit on) the records
written per second, counted from the audit log itself.
Bounded: every phase stops after --seconds, and both servers are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402
from load_test import HOST, prepare_home, wait_healthy  # noqa: E402

from api.http.auth import hash_key  # noqa: E402
from tests.helpers import free_port, stop_process  # noqa: E402

QUERIES = [
    "how do I stop the model favouring the majority label",
    "drift alerts",
    "LoRA rank",
    "learning rate warmup",
    "evaluation of retrieval",
]
# `kb serve` with the audit log's writes made no-ops in this process alone.
AUDIT_OFF = (
    "import sys, api.audit; api.audit.Auditor.record = lambda self, *a, **k: None; "
    "from api.cli import main; sys.argv[0] = 'kb'; main()"
)


def restricted_docs(folder: Path, n: int = 8) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"hr-{i}.md").write_text(
            f"---\ntitle: HR note {i}\nteam: hr\nvisibility: [hr]\n---\n\n"
            f"Restricted note {i} on salary bands and review calibration.\n",
            encoding="utf-8",
        )


def start(home: Path, keys: Path, port: int, audit: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_API_KEYS_FILE": str(keys)}
    args = ["--home", str(home), "serve", "--host", HOST, "--port", str(port)]
    args += ["--log-level", "warning"]
    head = [sys.executable, "-m", "api.cli"] if audit else [sys.executable, "-c", AUDIT_OFF]
    log = (home.parent / f"serve-{'on' if audit else 'off'}.log").open("wb")
    return subprocess.Popen([*head, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


async def drive(base: str, key: str, paths: list[str], clients: int, seconds: float) -> float:
    """Requests answered 200 per second, `clients` at once, over `paths` in turn."""
    cycle = itertools.cycle(paths)
    done = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=60
    ) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.get(next(cycle))
                if response.status_code == 200:
                    done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return done / (time.perf_counter() - started)


def audit_count(home: Path) -> int:
    with closing(sqlite3.connect(home / "audit.sqlite")) as db:
        return int(db.execute("SELECT count(*) FROM audit_records").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kb-audit-bench-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        home = tmp / "on" / "home"
        prepare_home(home)
        restricted_docs(tmp / "hr")
        kb = [sys.executable, "-m", "api.cli", "--home", str(home)]
        subprocess.run([*kb, "ingest", str(tmp / "hr")], check=True, capture_output=True)
        listing = subprocess.run(
            [*kb, "docs", "--json"], check=True, capture_output=True, text=True
        ).stdout
        import json

        docs = json.loads(listing)["documents"]
        hr = [f"/documents/{d['doc_id']}" for d in docs if d.get("visibility")]
        assert hr, "no restricted documents were stored"
        (tmp / "off").mkdir()
        shutil.copytree(home, tmp / "off" / "home")
        keys = tmp / "keys.yaml"
        keys.write_text(yaml.safe_dump([{"key_sha256": hash_key("admin"), "role": "admin"}]))
        ports = {"on": free_port(), "off": free_port()}
        for mode in ("on", "off"):
            servers.append(start(tmp / mode / "home", keys, ports[mode], mode == "on"))
        for mode, server in zip(("on", "off"), servers, strict=True):
            wait_healthy(f"http://{HOST}:{ports[mode]}", server)
        searches = [f"/search?q={q}&k=10" for q in QUERIES]
        rates: dict[str, dict[str, list[float]]] = {
            w: {"on": [], "off": []} for w in ("search", "restricted_read")
        }
        records_per_s: list[float] = []
        for mode in ("on", "off"):  # warm up: the model's first queries, the connections
            base = f"http://{HOST}:{ports[mode]}"
            asyncio.run(drive(base, "admin", searches + hr, args.clients, 3.0))
        before_off = audit_count(tmp / "off" / "home")
        for round_ in range(args.rounds):
            order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
            for workload, paths in (("search", searches), ("restricted_read", hr)):
                for mode in order:
                    base = f"http://{HOST}:{ports[mode]}"
                    before = audit_count(tmp / mode / "home")
                    t0 = time.perf_counter()
                    rate = asyncio.run(drive(base, "admin", paths, args.clients, args.seconds))
                    elapsed = time.perf_counter() - t0
                    written = audit_count(tmp / mode / "home") - before
                    rates[workload][mode].append(rate)
                    if mode == "on" and workload == "restricted_read":
                        records_per_s.append(written / elapsed)
                    print(
                        f"round {round_ + 1} {workload} audit {mode}: {rate:.1f}/s "
                        f"({written} records)",
                        file=sys.stderr,
                    )
        result: dict[str, Any] = {
            "clients": args.clients,
            "seconds_per_phase": args.seconds,
            "rounds": args.rounds,
            "records_written_with_audit_off": audit_count(tmp / "off" / "home") - before_off,
        }
        for workload, modes in rates.items():
            on, off = statistics.median(modes["on"]), statistics.median(modes["off"])
            result[workload] = {
                "requests_per_s_audit_on": round(on, 1),
                "requests_per_s_audit_off": round(off, 1),
                "on_vs_off": round(on / off, 3),
                # each round's on/off ratio (the two phases run back to back, so a load from
                # elsewhere on the machine hits both alike), their median: the figure to quote
                "paired_on_vs_off_median": round(
                    statistics.median(
                        a / b for a, b in zip(modes["on"], modes["off"], strict=True)
                    ),
                    3,
                ),
                "runs_on": [round(r, 1) for r in modes["on"]],
                "runs_off": [round(r, 1) for r in modes["off"]],
            }
        result["restricted_read"]["audit_records_per_s"] = round(
            statistics.median(records_per_s), 1
        )
        save("audit_overhead", result)
    finally:
        for server in servers:
            stop_process(server)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
