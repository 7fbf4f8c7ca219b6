"""What metrics, JSON logs and rate limits cost on the HTTP load test, each alone and all
together: one `kb serve` per setup over one home, driven in turn by the load test's clients,
round after round in a rotating order (each setup first, middle and last equally often), so
that every setup sees the same machine.

Setups: `off` (KB_METRICS=off, request lines below the log level, no limit); `metrics`
(KB_METRICS=organiser, scraped once per round, as Prometheus would); `json_logs`
(KB_LOG_FORMAT=json at INFO: one JSON line per request, to a file); `rate_limits`
(KB_RATE_LIMIT_SEARCH high enough never to refuse, so every search is counted and checked
and none turned away); `all` (the three at once).

Run: .venv/bin/python bench/observability_overhead.py [--clients 8] [--seconds 5] [--rounds 6]
                                                    [--setups off,all]

Writes bench/results/observability_overhead.json: searches per second and p50/p95 for each
(medians over the rounds, after one warm-up round), each setup's ratio to `off`, the load
average before and after (another job on the machine makes the figures noisy: compare the
rounds), and the cost per request of each measured in-process on a route that does nothing.
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

# A limit this load test never reaches (it runs at about 100 searches a second): the limiter
# counts and checks every search and refuses none, with a window of the size a real limit has.
NEVER_REACHED = "1000/second"
# name -> (environment, log level)
SETUPS: dict[str, tuple[dict[str, str], str]] = {
    "off": ({"KB_METRICS": "off", "KB_LOG_FORMAT": "text"}, "warning"),
    "metrics": ({"KB_METRICS": "organiser", "KB_LOG_FORMAT": "text"}, "warning"),
    "json_logs": ({"KB_METRICS": "off", "KB_LOG_FORMAT": "json"}, "info"),
    "rate_limits": (
        {"KB_METRICS": "off", "KB_LOG_FORMAT": "text", "KB_RATE_LIMIT_SEARCH": NEVER_REACHED},
        "warning",
    ),
    "all": (
        {"KB_METRICS": "organiser", "KB_LOG_FORMAT": "json", "KB_RATE_LIMIT_SEARCH": NEVER_REACHED},
        "info",
    ),
}


def round_order(names: list[str], n: int) -> list[str]:
    """Round `n`'s order: the setups rotated by `n`, reversed every other round, so that no
    setup always follows the same one or always runs first."""
    turned = names[n % len(names) :] + names[: n % len(names)]
    return turned if n % 2 == 0 else list(reversed(turned))


def start(home: Path, keys: Path, port: int, log: Path, setup: str) -> subprocess.Popen[bytes]:
    env_extra, level = SETUPS[setup]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_API_KEYS_FILE": str(keys), **env_extra}
    command = [sys.executable, "-m", "api.cli", "--home", str(home), "serve"]
    command += ["--host", HOST, "--port", str(port), "--log-level", level]
    return subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT
    )


BLOCKS = 10  # in-process: blocks per setup and route, in rotating order


def per_request_cost(names: list[str], requests: int = 3000) -> dict[str, Any]:
    """In-process, no model in the way: the time of GET /meta (a route that does nothing)
    through the whole app in each setup (JSON lines to a discarded stream), alternated in
    blocks; a setup's difference from `off` is what it adds to every request. (/meta is not
    rate-limited: the limiter's cost is that of a search, measured on /search with a fake
    encoder.)"""
    import io
    import logging
    import time

    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.logs import make_handler
    from api.settings import Settings
    from tests.fakes import HashingEmbedder

    timings: dict[str, dict[str, list[float]]] = {"meta": {}, "search": {}}
    with tempfile.TemporaryDirectory(prefix="kb-observe-") as tmp:
        clients = {}
        for name in names:
            env = SETUPS[name][0]
            settings = Settings(
                home=Path(tmp) / name,
                auth_disabled=True,
                metrics=env["KB_METRICS"],
                rate_limit_search=env.get("KB_RATE_LIMIT_SEARCH"),
            )
            clients[name] = TestClient(create_app(settings, embedder=HashingEmbedder()))
        sink = logging.StreamHandler(io.StringIO())  # the JSON lines, formatted, discarded
        sink.setFormatter(make_handler("json").formatter)
        access = logging.getLogger("api.access")
        access.propagate = False
        per_block = requests // BLOCKS
        try:
            for client in clients.values():
                client.__enter__()
            for route, path in (("meta", "/meta"), ("search", "/search?q=warmup+steps")):
                timings[route] = {name: [] for name in names}
                for block in range(BLOCKS):
                    for name in round_order(names, block):
                        client = clients[name]
                        if SETUPS[name][1] == "info":
                            access.addHandler(sink)
                            access.setLevel(logging.INFO)
                        start = time.perf_counter()
                        for _ in range(per_block):
                            client.get(path)
                        timings[route][name].append((time.perf_counter() - start) / per_block)
                        access.removeHandler(sink)
                        access.setLevel(logging.WARNING)
        finally:
            for client in clients.values():
                client.__exit__(None, None, None)
            access.propagate = True
            access.setLevel(logging.NOTSET)
    out: dict[str, Any] = {"requests_per_route_and_setup": per_block * BLOCKS}
    for route, by_name in timings.items():
        us = {name: statistics.median(times) * 1e6 for name, times in by_name.items()}
        out[route] = {
            name: {
                "us_per_request": round(value, 1),
                "added_us_per_request": round(value - us["off"], 1),
            }
            for name, value in us.items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per setup, rotated")
    parser.add_argument("--setups", default=",".join(SETUPS), help="which, comma-separated")
    args = parser.parse_args()
    names = [name for name in args.setups.split(",") if name]
    if "off" not in names or any(name not in SETUPS for name in names):
        raise SystemExit(f"--setups: some of {', '.join(SETUPS)}, off among them")
    queries = [
        json.loads(line)["query"]
        for line in (SAMPLE / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    organiser = secrets.token_urlsafe(24)
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="kb-observe-") as tmp:
        home, keys = Path(tmp) / "home", Path(tmp) / "keys.yaml"
        keys.write_text(yaml.safe_dump([{"key_sha256": hash_key(organiser), "role": "organiser"}]))
        prepare_home(home)
        bases: dict[str, str] = {}
        servers: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name in names:  # one at a time: each loads the model, then waits its turn
                port = free_port()
                bases[name] = f"http://{HOST}:{port}"
                servers[name] = start(home, keys, port, Path(tmp) / f"{name}.log", name)
                wait_healthy(bases[name], servers[name])
            for n in range(args.rounds + 1):  # the first round warms all up: not counted
                for name in round_order(names, n):
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
                    if SETUPS[name][0]["KB_METRICS"] != "off":  # as Prometheus would
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
        json_lines = {
            name: sum(
                1
                for line in (Path(tmp) / f"{name}.log").read_text().splitlines()
                if line.startswith("{")
            )
            for name in names
        }

    def summary(name: str) -> dict[str, Any]:
        done = rounds[name]
        return {
            "requests_per_s": round(statistics.median(r["requests_per_s"] for r in done), 2),
            "p50_ms": round(statistics.median(r["p50_ms"] for r in done), 2),
            "p95_ms": round(statistics.median(r["p95_ms"] for r in done), 2),
            "errors": sum(r["errors"] for r in done),
            "json_log_lines_written": json_lines[name],
            "rounds": done,
        }

    results = {name: summary(name) for name in names}
    off = results["off"]
    for result in results.values():
        # the paired figure: each round's throughput over the `off` round of the same round
        paired = [
            on["requests_per_s"] / base["requests_per_s"]
            for on, base in zip(result["rounds"], off["rounds"], strict=True)
        ]
        result["throughput_ratio_to_off"] = round(
            result["requests_per_s"] / off["requests_per_s"], 4
        )
        result["p50_ratio_to_off"] = round(result["p50_ms"] / off["p50_ms"], 4)
        result["paired_throughput_ratio_median"] = round(statistics.median(paired), 4)
    cost = per_request_cost(names)
    save(
        "observability_overhead",
        {
            "clients": args.clients,
            "seconds_per_round": args.seconds,
            "rounds_per_setup": args.rounds,
            "setups": {
                name: {"env": SETUPS[name][0], "log_level": SETUPS[name][1]} for name in names
            },
            "results": results,
            "per_request_cost_in_process": cost,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        },
    )


if __name__ == "__main__":
    main()
