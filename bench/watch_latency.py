"""From a file landing in a watched folder to finding it by its words, through `kb serve`.

  .venv/bin/python bench/watch_latency.py [--poll] [--files 20]

Starts `kb serve` (the default model, KB_WATCH on an empty folder, the default debounce of
1 s and interval of 2 s) and waits until it answers. Then drops one-page Markdown files into
the folder one at a time, each written beside it under a partial name (`.part`) and renamed
into place, as a copy tool does, and times from the rename until GET /search?mode=lexical
finds the file's own word (polled every 50 ms); the next file lands once the last was found.
Prints and saves p50/p95 to bench/results/watch_latency.json (goal: p95 under 10 s on the
2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, percentile, save  # noqa: E402
from tests.helpers import free_port, markdown_doc, stop_process  # noqa: E402

WORDS = "the model learns from labelled examples and is checked on held out data".split()


def one_page(i: int, word: str) -> str:
    """About one printed page (~450 words) with one word found nowhere else."""
    body = " ".join(WORDS[(i + n) % len(WORDS)] for n in range(450))
    return markdown_doc(f"Handout {i}", {"Notes": f"{body} {word}.", "More": body})


def found(base: str, word: str, source: str) -> bool:
    """Whether lexical search for the file's own word finds the file."""
    url = f"{base}/search?q={word}&mode=lexical&k=5"
    with urllib.request.urlopen(url, timeout=30) as response:
        return any(hit["source"] == source for hit in json.load(response)["hits"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--poll", action="store_true", help="poll instead of file events")
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="watch-bench-"))
    folder = work / "shared"
    folder.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KB_AUTH_DISABLED": "1",
        "KB_WATCH": str(folder),
        "KB_WATCH_POLL": "1" if args.poll else "0",
    }
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "--home", str(work / "home"), "serve", "--port",
         str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=log, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=5)
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit((work / "serve.log").read_text()) from None
                time.sleep(0.3)
        latencies = []
        for i in range(args.files):
            word = f"zyxmarker{i:03d}"
            partial = folder / f"handout{i:03d}.md.part"
            partial.write_text(one_page(i, word), encoding="utf-8")
            landed = time.perf_counter()
            partial.rename(folder / f"handout{i:03d}.md")
            while not found(base, word, f"handout{i:03d}.md"):
                time.sleep(0.05)
            latencies.append(time.perf_counter() - landed)
            print(f"{i:2d}: {latencies[-1]:.2f} s", file=sys.stderr)
    finally:
        stop_process(server)
        log.close()
    p95 = percentile(latencies, 95)
    save(
        "watch_latency" + ("_polling" if args.poll else ""),
        {
            "what": "seconds from a one-page file renamed into a watched folder of a running "
            "`kb serve` (default model, debounce 1 s, interval 2 s) until lexical search "
            "finds it",
            "mode": "polling" if args.poll else "file events",
            "files": args.files,
            "p50_s": round(percentile(latencies, 50), 3),
            "p95_s": round(p95, 3),
            "max_s": round(max(latencies), 3),
            "goal_p95_s": 10.0,
            "goal_met": p95 < 10.0,
            "latencies_s": [round(x, 3) for x in latencies],
        },
    )


if __name__ == "__main__":
    main()
