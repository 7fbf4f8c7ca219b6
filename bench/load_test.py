"""Load test of the HTTP API on loopback: searches per second and p50/p95 latency for 8
concurrent clients, with no ingest running and while an ingest job runs; then checks that
every uploaded file was either stored or reported failed.

Run: .venv/bin/python bench/load_test.py [--clients 8] [--seconds 15] [--docs 150]
                                         [--repeat-queries]

It starts `kb serve` (one process, the real model) on 127.0.0.1 over a temporary home holding
the sample corpus and catalogue, drives it with asyncio + httpx, stops it, and writes
bench/results/load_test.json. Bounded: each phase stops after --seconds (the ingest phase
when the job ends, or at --max-ingest-seconds), and the server is always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save, summary_ms  # noqa: E402

from api.http.auth import hash_key  # noqa: E402
from tests.helpers import free_port, stop_process  # noqa: E402

HOST = "127.0.0.1"
SAMPLE = ROOT / "data" / "sample"
TOPICS = [
    ("class imbalance", "reweighting the loss and oversampling the minority label"),
    ("learning rate warmup", "warmup steps stop early divergence in fine-tuning"),
    ("feature drift", "population stability index on weekly feature snapshots"),
    ("retrieval evaluation", "recall at k and nDCG on a labelled query set"),
    ("quantisation", "int8 weights halve latency with a small accuracy loss"),
    ("label noise", "confident learning finds mislabelled reviews"),
    ("cold start", "content features rank new items before any interaction"),
    ("prompt templates", "few-shot examples fixed the output format"),
]


def write_up(n: int) -> str:
    """A synthetic post-training write-up of a few sections (several chunks)."""
    topic, finding = TOPICS[n % len(TOPICS)]
    sections = [
        f"## Context\n\nWrite-up {n}: our team looked at {topic} after the training week. "
        + " ".join(f"Observation {n}.{i} about {topic} in production." for i in range(12)),
        f"## What we tried\n\n{finding.capitalize()}. "
        + " ".join(f"Run {i} changed one setting and logged {topic} metrics." for i in range(12)),
        f"## Lessons\n\nNext time start with {finding}. "
        + " ".join(f"Lesson {i}: document {topic} decisions early." for i in range(10)),
    ]
    front = f"---\ntitle: Write-up {n} on {topic}\nteam: nlp\ntags: [writeup]\n---\n\n"
    return front + f"# Write-up {n} on {topic}\n\n" + "\n\n".join(sections) + "\n"


def build_upload(docs: int) -> tuple[list[tuple[str, tuple[str, bytes]]], set[str]]:
    """Loose files and two archives, with two deliberately broken files; returns the multipart
    parts and the names every file should be reported under."""
    expected: set[str] = set()
    parts: list[tuple[str, tuple[str, bytes]]] = []
    loose = max(1, docs // 10)
    for n in range(loose):
        name = f"writeup-{n:04d}.md"
        parts.append(("files", (name, write_up(n).encode())))
        expected.add(name)
    parts.append(("files", ("empty-notes.md", b"")))  # fails: the file is empty
    expected.add("empty-notes.md")
    rest = list(range(loose, docs))
    for index, chunk in enumerate((rest[: len(rest) // 2], rest[len(rest) // 2 :])):
        archive = f"bulk-{index}.zip"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for n in chunk:
                zf.writestr(f"writeups/writeup-{n:04d}.md", write_up(n))
                expected.add(f"{archive}/writeups/writeup-{n:04d}.md")
            if index == 0:
                zf.writestr("writeups/broken.ipynb", "{ not json")  # fails: not a notebook
                expected.add(f"{archive}/writeups/broken.ipynb")
        parts.append(("files", (archive, buffer.getvalue())))
    return parts, expected


def prepare_home(home: Path, extra_env: Mapping[str, str] | None = None) -> None:
    """The sample corpus and catalogue, through the CLI (as `make run` begins)."""
    kb = [sys.executable, "-m", "api.cli", "--home", str(home)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(extra_env or {})}
    subprocess.run([*kb, "ingest", str(SAMPLE)], check=True, env=env, capture_output=True)
    subprocess.run(
        [*kb, "catalog", "load", str(SAMPLE / "catalog")], check=True, env=env, capture_output=True
    )


def start_server(
    home: Path, keys: Path, port: int, log: Path, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_API_KEYS_FILE": str(keys), **(extra_env or {})}
    command = [sys.executable, "-m", "api.cli", "--home", str(home), "serve"]
    command += ["--host", HOST, "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT
    )


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not become healthy in time")


async def search_clients(
    base: str | Sequence[str],
    key: str,
    queries: list[str],
    clients: int,
    stop: asyncio.Event,
    seconds: float,
    unique: bool,
) -> dict[str, Any]:
    """`clients` workers searching back to back until `stop` is set or `seconds` pass; given
    several base URLs (replicas), the workers are dealt among them in turn."""
    bases = [base] if isinstance(base, str) else list(base)
    latencies: list[float] = []
    served = [0] * len(bases)
    counter = itertools.count()
    errors = 0
    cycle = itertools.cycle(queries)
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(client: httpx.AsyncClient, slot: int = 0) -> None:
        nonlocal errors
        while not stop.is_set() and time.perf_counter() < deadline:
            query = next(cycle)
            if unique:  # defeat the model's query cache: every search embeds its query
                query = f"{query} variant {next(counter)}"
            t0 = time.perf_counter()
            try:
                response = await client.get("/search", params={"q": query, "k": 10})
                ok = response.status_code == 200 and "hits" in response.json()
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - t0)
                served[slot] += 1
            else:
                errors += 1

    async with contextlib.AsyncExitStack() as stack:
        pool = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60)
            )
            for url in bases
        ]
        slots = [n % len(pool) for n in range(clients)]
        await asyncio.gather(*(worker(pool[slot], slot) for slot in slots))
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"seconds": round(elapsed, 2), "errors": errors}
    if latencies:
        result.update(summary_ms(latencies))
        result["requests_per_s"] = round(len(latencies) / elapsed, 2)
    if len(bases) > 1:
        result["searches_by_replica"] = served
    return result


async def during_ingest(
    base: str,
    admin: str,
    employee: str,
    queries: list[str],
    clients: int,
    parts: list[tuple[str, tuple[str, bytes]]],
    max_seconds: float,
    unique: bool,
    search_bases: Sequence[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """Upload, then search until the job finishes; the job's final record is returned.
    The searches go to `search_bases` when given (replicas), else to `base`."""
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        t0 = time.perf_counter()
        response = await client.post("/ingest", files=parts, data={"course": "bench"})
        accept_s = time.perf_counter() - t0
        if response.status_code != 202:
            raise SystemExit(f"upload refused: {response.status_code} {response.text}")
        job_id = response.json()["job_id"]
        stop = asyncio.Event()
        searches = asyncio.create_task(
            search_clients(
                search_bases or base, employee, queries, clients, stop, max_seconds, unique
            )
        )
        deadline = time.perf_counter() + max_seconds
        job: dict[str, Any] = {}
        while time.perf_counter() < deadline:
            job = (await client.get(f"/ingest/jobs/{job_id}")).json()
            if job["state"] in ("done", "failed", "interrupted"):
                break
            await asyncio.sleep(0.25)
        stop.set()
        result = await searches
        while job.get("state") not in ("done", "failed", "interrupted"):  # finish the check
            await asyncio.sleep(0.5)
            job = (await client.get(f"/ingest/jobs/{job_id}")).json()
    return result, job, accept_s


def check_nothing_lost(
    base: str, admin: str, job: dict[str, Any], expected: set[str]
) -> dict[str, Any]:
    """Every uploaded file is in the job's results: stored (and readable) or failed with a
    reason. Returns the tally; `lost` must be empty."""
    results = {f["source"]: f for f in job["files"]}
    lost = sorted(expected - set(results))
    unexplained: list[str] = []
    headers = {"Authorization": f"Bearer {admin}"}
    stored = failed = 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for source in sorted(expected & set(results)):
            item = results[source]
            if item["status"] == "failed":
                failed += 1
                if not item.get("error"):
                    unexplained.append(source)
            elif item.get("doc_id") and client.get(f"/documents/{item['doc_id']}").is_success:
                stored += 1
            else:
                unexplained.append(source)
    return {
        "uploaded": len(expected),
        "stored": stored,
        "failed_with_reason": failed,
        "lost": lost,
        "unexplained": unexplained,
        "ok": not lost and not unexplained and stored + failed == len(expected),
    }


def ingest_figures(
    job: dict[str, Any], files: int, upload_bytes: int, accept_s: float
) -> dict[str, Any]:
    """What a benchmark reports of its upload job."""
    summary = job.get("summary") or {}
    return {
        "state": job.get("state"),
        "files": files,
        "upload_mb": round(upload_bytes / 1e6, 2),
        "accepted_in_ms": round(accept_s * 1000, 1),
        "added": summary.get("added"),
        "failed": len(summary.get("failed") or []),
        "chunks": summary.get("chunks"),
        "job_seconds": summary.get("seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the idle phase")
    parser.add_argument("--docs", type=int, default=150, help="write-ups in the bulk upload")
    parser.add_argument("--max-ingest-seconds", type=float, default=240.0)
    parser.add_argument(
        "--repeat-queries",
        action="store_true",
        help="cycle the 62 sample queries verbatim (the model's query cache then answers)",
    )
    args = parser.parse_args()
    queries = [
        json.loads(line)["query"]
        for line in (SAMPLE / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    admin, employee = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        home = Path(tmp) / "home"
        keys = Path(tmp) / "keys.yaml"
        keys.write_text(
            yaml.safe_dump(
                [
                    {"key_sha256": hash_key(admin), "role": "admin"},
                    {"key_sha256": hash_key(employee), "role": "employee", "employee": "liam-chen"},
                ]
            )
        )
        prepare_home(home)
        port = free_port()
        base = f"http://{HOST}:{port}"
        server = start_server(home, keys, port, Path(tmp) / "server.log")
        try:
            wait_healthy(base, server)
            docs_before = httpx.get(f"{base}/health").json()["documents"]
            idle = asyncio.run(
                search_clients(
                    base,
                    employee,
                    queries,
                    args.clients,
                    asyncio.Event(),
                    args.seconds,
                    not args.repeat_queries,
                )
            )
            parts, expected = build_upload(args.docs)
            upload_bytes = sum(len(data) for _, (_, data) in parts)
            busy, job, accept_s = asyncio.run(
                during_ingest(
                    base,
                    admin,
                    employee,
                    queries,
                    args.clients,
                    parts,
                    args.max_ingest_seconds,
                    not args.repeat_queries,
                )
            )
            tally = check_nothing_lost(base, admin, job, expected)
            docs_after = httpx.get(f"{base}/health").json()["documents"]
        finally:
            stop_process(server)
        payload = {
            "clients": args.clients,
            "unique_queries": not args.repeat_queries,
            "queries": len(queries),
            "search_idle": idle,
            "search_during_ingest": busy,
            "ingest": {
                **ingest_figures(job, len(expected), upload_bytes, accept_s),
                "documents_before": docs_before,
                "documents_after": docs_after,
            },
            "nothing_lost": tally,
        }
    save("load_test" + ("_repeated_queries" if args.repeat_queries else ""), payload)
    if not tally["ok"]:
        raise SystemExit("some uploaded files were neither stored nor reported failed")


if __name__ == "__main__":
    main()
