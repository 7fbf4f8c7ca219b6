"""What metrics and JSON logs cost on the HTTP load test: two `kb serve` processes over one
home, one with both off (KB_METRICS=off, request lines below the log level) and one with both
on (KB_METRICS=organiser scraped once per round, KB_LOG_FORMAT=json at INFO: one JSON line per
request, to a file), driven in turn by the load test's clients, round after round, so that
both see the same machine.

Run: .venv/bin/python bench/observability_overhead.py [--clients 8] [--seconds 6] [--rounds 4]

Writes bench/results/observability_overhead.json: searches per second and p50/p95 for each
(medians over the rounds, after one warm-up round), the ratio on/off, the load average
before and after (another job on the machine makes the figures noisy: compare the rounds),
and the cost per request measured in-process on a route that does nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402
from load_test import HOST, SAMPLE, prepare_home, search_clients, wait_healthy  # noqa: E402

from api.http.auth import hash_key  # noqa: E402
from tests.helpers import free_port, stop_process  # noqa: E402

SETUPS: dict[str, tuple[dict[str, str], str]] = {
    "off": ({"KB_METRICS": "off", "KB_LOG_FORMAT": "text"}, "warning"),
    "on": ({"KB_METRICS": "organiser", "KB_LOG_FORMAT": "json"}, "info"),
}


def start(home: Path, keys: Path, port: int, log: Path, setup: str) -> subprocess.Popen[bytes]:
    env_extra, level = SETUPS[setup]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_API_KEYS_FILE": str(keys), **env_extra}
    command = [sys.executable, "-m", "api.cli", "--home", str(home), "serve"]
    command += ["--host", HOST, "--port", str(port), "--log-level", level]
    return subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT
    )


def per_request_cost(requests: int = 3000) -> dict[str, Any]:
    """In-process, no model in the way: the time of GET /meta (a route that does nothing)
    through the whole app with both off and both on (JSON lines to a discarded stream),
    alternated in blocks; the difference is what metrics and logs add to every request."""
    import io
    import logging
    import time

    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.logs import make_handler
    from api.settings import Settings
    from tests.fakes import HashingEmbedder

    timings: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="kb-observe-") as tmp:
        clients = {}
        for name, (env, _) in SETUPS.items():
            settings = Settings(
                home=Path(tmp) / name, auth_disabled=True, metrics=env["KB_METRICS"]
            )
            clients[name] = TestClient(create_app(settings, embedder=HashingEmbedder()))
        sink = logging.StreamHandler(io.StringIO())  # the JSON lines, formatted, discarded
        sink.setFormatter(make_handler("json").formatter)
        access = logging.getLogger("api.access")
        access.propagate = False
        try:
            for client in clients.values():
                client.__enter__()
            for block in range(6):
                for name in ("off", "on") if block % 2 == 0 else ("on", "off"):
                    client = clients[name]
                    if name == "on":
                        access.addHandler(sink)
                        access.setLevel(logging.INFO)
                    start = time.perf_counter()
                    for _ in range(requests // 6):
                        client.get("/meta")
                    timings[name].append((time.perf_counter() - start) / (requests // 6))
                    access.removeHandler(sink)
                    access.setLevel(logging.WARNING)
        finally:
            for client in clients.values():
                client.__exit__(None, None, None)
            access.propagate = True
            access.setLevel(logging.NOTSET)
    off_us = statistics.median(timings["off"]) * 1e6
    on_us = statistics.median(timings["on"]) * 1e6
    return {
        "requests": requests,
        "off_us_per_request": round(off_us, 1),
        "on_us_per_request": round(on_us, 1),
        "added_us_per_request": round(on_us - off_us, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per setup, alternated")
    args = parser.parse_args()
    queries = [
        json.loads(line)["query"]
        for line in (SAMPLE / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    organiser = secrets.token_urlsafe(24)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in SETUPS}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kb-observe-") as tmp:
        home, keys = Path(tmp) / "home", Path(tmp) / "keys.yaml"
        keys.write_text(yaml.safe_dump([{"key_sha256": hash_key(organiser), "role": "organiser"}]))
        prepare_home(home)
        bases: dict[str, str] = {}
        servers: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name in SETUPS:  # one at a time: both load the model, then wait their turn
                port = free_port()
                bases[name] = f"http://{HOST}:{port}"
                servers[name] = start(home, keys, port, Path(tmp) / f"{name}.log", name)
                wait_healthy(bases[name], servers[name])
            for n in range(args.rounds + 1):  # the first round warms both up: not counted
                order = list(SETUPS) if n % 2 == 0 else list(reversed(SETUPS))
                for name in order:
                    result = asyncio.run(
                        search_clients(
                            bases[name],
                            organiser,
                            queries,
                            args.clients,
                            asyncio.Event(),
                            args.seconds,
                            True,
                        )
                    )
                    if name == "on":  # as Prometheus would, once per round
                        scrape = httpx.get(
                            f"{bases[name]}/metrics",
                            headers={"Authorization": f"Bearer {organiser}"},
                        )
                        result["metrics_bytes"] = len(scrape.content)
                    if n > 0:
                        rounds[name].append(result)
        finally:
            for server in servers.values():
                stop_process(server)
        json_lines = sum(
            1 for line in (Path(tmp) / "on.log").read_text().splitlines() if line.startswith("{")
        )

    def summary(name: str) -> dict[str, Any]:
        done = rounds[name]
        return {
            "requests_per_s": round(statistics.median(r["requests_per_s"] for r in done), 2),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in done), 2),
            "p95_ms": round(statistics.median(r["p95_ms"] for r in done), 2),
            "errors": sum(r["errors"] for r in done),
            "rounds": done,
        }

    off, on = summary("off"), summary("on")
    cost = per_request_cost()
    save(
        "observability_overhead",
        {
            "clients": args.clients,
            "seconds_per_round": args.seconds,
            "rounds_per_setup": args.rounds,
            "setups": {name: {"env": env, "log_level": lvl} for name, (env, lvl) in SETUPS.items()},
            "off": off,
            "on": on,
            "throughput_ratio_on_over_off": round(on["requests_per_s"] / off["requests_per_s"], 4),
            "p50_ratio_on_over_off": round(on["p50_ms"] / off["p50_ms"], 4),
            "json_log_lines_written": json_lines,
            "per_request_cost_in_process": cost,
            "added_share_of_search_p50": round(
                cost["added_us_per_request"] / 1000.0 / off["p50_ms"], 5
            ),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
