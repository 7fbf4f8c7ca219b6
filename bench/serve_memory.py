"""Peak memory of `kb serve` over a large store: the server started on --home (made by
bench/search_speed.py, 100k chunks), every sample query searched once over HTTP, then the
server's peak and current resident memory read from /proc (VmHWM, VmRSS).

Run: .venv/bin/python bench/serve_memory.py [--home /tmp/kb-search-onnx-fp32]
Results: bench/results/serve_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, save  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--home", type=Path, default=Path(tempfile.gettempdir()) / "kb-search-onnx-fp32"
    )
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "KB_AUTH_DISABLED": "1", "HF_HUB_OFFLINE": "1"}
    kb = str(ROOT / ".venv" / "bin" / "kb")
    server = subprocess.Popen(
        [kb, "--home", str(args.home), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit("kb serve did not start") from None
                time.sleep(0.5)
        ready_s = time.perf_counter() - started
        queries = [
            json.loads(line)["query"]
            for line in (ROOT / "data" / "sample" / "queries.jsonl").read_text().splitlines()
            if line.strip()
        ]
        for query in queries:
            url = f"{base}/search?" + urllib.parse.urlencode({"q": query, "k": 10})
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
        time.sleep(1)
        memory = memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"ready in {ready_s:.1f} s; after {len(queries)} searches: {memory}")
    save(
        "serve_memory",
        {
            "home": str(args.home),
            "chunks": health.get("chunks"),
            "ready_s": round(ready_s, 1),
            "searches": len(queries),
            "peak_rss_mb": memory.get("VmHWM"),
            "rss_mb": memory.get("VmRSS"),
        },
    )


if __name__ == "__main__":
    main()
