"""Two `kb serve` replicas on one PostgreSQL under bench/load_test.py's load, with a separate
`kb worker` running the uploads: searches per second and p50/p95 for 8 clients dealt between
the replicas, with no ingest running and while a bulk upload to replica A is ingested; every
uploaded file stored or reported failed (checked on both replicas); then how long a new
document takes to be found by a search on the OTHER replica.

Run: .venv/bin/python bench/pg_replicas.py [--clients 8] [--seconds 15] [--docs 150]
                                           [--fresh-docs 10]

A private pgserver (PostgreSQL 16 + pgvector) in a temporary folder holds the sample corpus
and catalogue (`kb ingest` / `kb catalog load` with KB_DATABASE_URL); both replicas and the
worker point at it (KB_DATABASE_URL; KB_INGEST_WORKER=0 on the replicas, so that only the
worker ingests). Then, for comparison in the same run, the same two phases against one
`kb serve` on the embedded store, as bench/load_test.py runs it (--no-baseline skips it).
Everything started here is stopped at the end, whatever happens.
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
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, percentile, save  # noqa: E402
from load_test import (  # noqa: E402
    HOST,
    SAMPLE,
    build_upload,
    check_nothing_lost,
    during_ingest,
    ingest_figures,
    prepare_home,
    search_clients,
    start_server,
    wait_healthy,
)
from pg_search import code_version, load, log, private_postgres  # noqa: E402

from api.http.auth import hash_key  # noqa: E402
from tests.helpers import free_port, stop_process  # noqa: E402


def start_worker(home: Path, env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "api.cli", "--home", str(home), "worker"]
    command += ["--log-level", "warning"]
    return subprocess.Popen(
        command,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=log_file.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def load_catalogue(home: Path, env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "api.cli", "--home", str(home), "catalog", "load"]
    subprocess.run(
        [*command, str(SAMPLE / "catalog")],
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        cwd=ROOT,
    )


def fresh_document(n: int, word: str) -> str:
    return (
        f"---\ntitle: Fresh note {n}\nteam: nlp\n---\n\n# Fresh note {n}\n\n"
        f"The {word} checklist: a short note written during the benchmark, about one "
        f"thing only, so that a search for {word} finds it and nothing else.\n"
    )


def found(response: httpx.Response, name: str) -> bool:
    if response.status_code != 200:
        return False
    return any(hit["source"].endswith(name) for hit in response.json()["hits"])


async def first_success(
    check: Callable[[], Awaitable[bool]], since: float, timeout: float
) -> float | None:
    """Seconds from `since` until `check` first answers True (taken when that answer came
    back), polling back to back; None if `timeout` passes first."""
    while time.perf_counter() - since < timeout:
        if await check():
            return time.perf_counter() - since
        await asyncio.sleep(0.01)
    return None


async def one_fresh_document(
    n: int, a: str, b: str, admin: str, employee: str, timeout: float
) -> dict[str, float | None]:
    word = f"zq{secrets.token_hex(4)}"  # one word no other document has
    name = f"fresh-{n:02d}-{word}.md"
    admin_headers = {"Authorization": f"Bearer {admin}"}
    search_headers = {"Authorization": f"Bearer {employee}"}
    async with (
        httpx.AsyncClient(base_url=a, headers=admin_headers, timeout=30) as upload,
        httpx.AsyncClient(base_url=a, headers=search_headers, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b, headers=search_headers, timeout=30) as on_b,
    ):
        files = [("files", (name, fresh_document(n, word).encode()))]
        response = await upload.post("/ingest", files=files, data={"course": "bench"})
        accepted = time.perf_counter()
        if response.status_code != 202:
            raise SystemExit(f"upload refused: {response.status_code} {response.text}")
        job_id = response.json()["job_id"]

        async def job_done() -> bool:
            job = (await upload.get(f"/ingest/jobs/{job_id}")).json()
            return bool(job["state"] in ("done", "failed", "interrupted"))

        def searchable(client: httpx.AsyncClient) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return found(await client.get("/search", params={"q": word, "k": 3}), name)

            return check

        done, on_a_s, on_b_s = await asyncio.gather(
            first_success(job_done, accepted, timeout),
            first_success(searchable(on_a), accepted, timeout),
            first_success(searchable(on_b), accepted, timeout),
        )
    seen = {"job_done_s": done, "on_a_s": on_a_s, "on_b_s": on_b_s}
    return {k: None if v is None else round(v, 3) for k, v in seen.items()}


def time_to_searchable(
    a: str, b: str, admin: str, employee: str, documents: int, timeout: float
) -> dict[str, Any]:
    """Upload one small document with a unique word to replica A at a time, and poll, all at
    once, its job on A and a search for the word on each replica: seconds from the upload's
    202 to the job's end and to the first answer of each replica that has the document."""
    rows = []
    for n in range(documents):
        rows.append(asyncio.run(one_fresh_document(n, a, b, admin, employee, timeout)))
        log(f"fresh document {n}: {rows[-1]}")

    def stats(key: str) -> dict[str, Any]:
        values = [float(r[key]) for r in rows if r[key] is not None]
        if not values:
            return {"n": 0, "missed": len(rows)}
        return {
            "p50_s": round(statistics.median(values), 3),
            "p95_s": round(percentile(values, 95), 3),
            "min_s": round(min(values), 3),
            "max_s": round(max(values), 3),
            "n": len(values),
            "missed": len(rows) - len(values),
        }

    return {
        "documents": documents,
        "upload_to_job_done": stats("job_done_s"),
        "upload_to_searchable_on_a": stats("on_a_s"),
        "upload_to_searchable_on_b": stats("on_b_s"),
        "each": rows,
    }


def warm_up(bases: list[str], employee: str) -> None:
    """A few searches on each replica: the model, jieba and the dictionary load on first use."""
    headers = {"Authorization": f"Bearer {employee}"}
    for base in bases:
        for query in ("warm up", "attention heads", "模型 评估"):
            httpx.get(f"{base}/search", params={"q": query}, headers=headers, timeout=120)


def embedded_baseline(
    tmp: Path, keys: Path, admin: str, employee: str, queries: list[str], args: Any
) -> dict[str, Any]:
    """The same two phases against one `kb serve` on the embedded store (bench/load_test.py's
    setup), in the same run, for comparison."""
    home = tmp / "home-embedded"
    prepare_home(home)
    port = free_port()
    base = f"http://{HOST}:{port}"
    server = start_server(home, keys, port, tmp / "server-embedded.log")
    try:
        wait_healthy(base, server)
        warm_up([base], employee)
        idle = asyncio.run(
            search_clients(
                base, employee, queries, args.clients, asyncio.Event(), args.seconds, True
            )
        )
        parts, expected = build_upload(args.docs)
        busy, job, _ = asyncio.run(
            during_ingest(
                base, admin, employee, queries, args.clients, parts, args.max_ingest_seconds, True
            )
        )
        tally = check_nothing_lost(base, admin, job, expected)
    finally:
        stop_process(server)
    summary = job.get("summary") or {}
    return {
        "search_idle": idle,
        "search_during_ingest": busy,
        "job_seconds": summary.get("seconds"),
        "nothing_lost_ok": tally["ok"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the idle phase")
    parser.add_argument("--docs", type=int, default=150, help="write-ups in the bulk upload")
    parser.add_argument("--max-ingest-seconds", type=float, default=300.0)
    parser.add_argument("--fresh-docs", type=int, default=10)
    parser.add_argument("--fresh-timeout", type=float, default=60.0)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the single embedded server's run"
    )
    args = parser.parse_args()
    code = code_version()  # what is measured: the files as they are now
    queries = [
        json.loads(line)["query"]
        for line in (SAMPLE / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    admin, employee = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    started = time.perf_counter()
    loads = {"start": load()}
    with private_postgres() as url, tempfile.TemporaryDirectory(prefix="kb-replicas-") as tmp:
        keys = Path(tmp) / "keys.yaml"
        keys.write_text(
            yaml.safe_dump(
                [
                    {"key_sha256": hash_key(admin), "role": "admin"},
                    {"key_sha256": hash_key(employee), "role": "employee", "employee": "liam-chen"},
                ]
            )
        )
        env = {"KB_DATABASE_URL": url, "KB_INGEST_WORKER": "0"}
        homes = {name: Path(tmp) / f"home-{name}" for name in ("a", "b", "worker")}
        log("ingesting the sample corpus and catalogue into PostgreSQL (kb ingest)")
        prepare_started = time.perf_counter()
        prepare_home(homes["a"], env)
        load_catalogue(homes["b"], env)  # a no-op change if the catalogue is in the database
        prepare_s = time.perf_counter() - prepare_started
        processes: list[subprocess.Popen[bytes]] = []
        try:
            bases = []
            for name in ("a", "b"):
                port = free_port()
                bases.append(f"http://{HOST}:{port}")
                log_file = Path(tmp) / f"server-{name}.log"
                processes.append(start_server(homes[name], keys, port, log_file, env))
            processes.append(start_worker(homes["worker"], env, Path(tmp) / "worker.log"))
            for base, server in zip(bases, processes, strict=False):
                wait_healthy(base, server)
            a, b = bases
            warm_up(bases, employee)
            health_before = [httpx.get(f"{base}/health").json() for base in bases]
            log(f"idle phase ({args.seconds:g} s, load {load()})")
            loads["idle"] = load()
            idle = asyncio.run(
                search_clients(
                    bases, employee, queries, args.clients, asyncio.Event(), args.seconds, True
                )
            )
            parts, expected = build_upload(args.docs)
            upload_bytes = sum(len(data) for _, (_, data) in parts)
            log(f"bulk upload to replica A, searches on both (load {load()})")
            loads["ingest"] = load()
            busy, job, accept_s = asyncio.run(
                during_ingest(
                    a,
                    admin,
                    employee,
                    queries,
                    args.clients,
                    parts,
                    args.max_ingest_seconds,
                    True,
                    search_bases=bases,
                )
            )
            tallies = {
                name: check_nothing_lost(base, admin, job, expected)
                for name, base in zip(("a", "b"), bases, strict=True)
            }
            job_on_b = httpx.get(
                f"{b}/ingest/jobs/{job['id']}", headers={"Authorization": f"Bearer {admin}"}
            ).json()
            health_after = [httpx.get(f"{base}/health").json() for base in bases]
            log(f"new documents: upload to A, search on B (load {load()})")
            loads["fresh"] = load()
            fresh = time_to_searchable(a, b, admin, employee, args.fresh_docs, args.fresh_timeout)
            worker_alive = processes[-1].poll() is None
        finally:
            for process in processes:
                stop_process(process)
        baseline: dict[str, Any] | None = None
        if not args.no_baseline:
            log(f"baseline: one kb serve on the embedded store (load {load()})")
            loads["baseline"] = load()
            try:
                baseline = embedded_baseline(Path(tmp), keys, admin, employee, queries, args)
            except (Exception, SystemExit) as exc:  # keep the PostgreSQL figures regardless
                baseline = {"error": f"{type(exc).__name__}: {exc}"}
        logs = {
            path.name: path.read_text(errors="replace")[-2000:]
            for path in Path(tmp).glob("*.log")
            if path.read_text(errors="replace").strip()
        }
    payload = {
        "code": code,
        "clients": args.clients,
        "replicas": 2,
        "unique_queries": True,
        "queries": len(queries),
        "postgresql": "16 (pgserver), pgvector 0.6, server defaults, on the same machine",
        "setup": "2 x kb serve (KB_INGEST_WORKER=0) + 1 kb worker, one PostgreSQL",
        "prepare_sample_s": round(prepare_s, 1),
        "search_idle": idle,
        "search_during_ingest": busy,
        "ingest": {
            **ingest_figures(job, len(expected), upload_bytes, accept_s),
            "state_seen_on_b": job_on_b.get("state"),
            "documents_before_a_b": [h["documents"] for h in health_before],
            "documents_after_a_b": [h["documents"] for h in health_after],
        },
        "nothing_lost": tallies,
        "new_document_searchable": fresh,
        "worker_alive_at_end": worker_alive,
        "embedded_single_server_baseline": baseline,
        "load": loads,
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "process_logs": logs,
    }
    save("pg_replicas", payload)
    if not all(tally["ok"] for tally in tallies.values()):
        raise SystemExit("some uploaded files were neither stored nor reported failed")


if __name__ == "__main__":
    main()
