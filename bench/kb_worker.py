"""kb's search side of bench/txtai_compare.py, run with the project's python:

  .venv/bin/python bench/kb_worker.py HOME QUERIES PASSES

Opens the store in HOME (made by `kb ingest`), runs one warm-up query (the model loads), then
times every labelled query, `kb.search(query, k=10)` in hybrid mode (the default) in this
process, PASSES times over; the first pass is fresh, later passes repeat the same queries
(kb's query-vector cache then answers the encoding). Prints JSON: per-pass latencies, the
ranked sources of the first pass, and recall/MRR/nDCG@10 of each search mode from
kb.search.evaluation.compare_modes (untimed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kb import open_knowledge_base  # noqa: E402
from kb.search.evaluation import compare_modes, load_queries

K = 10


def main() -> None:
    home, queries_path, passes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    labelled = load_queries(queries_path)
    kb = open_knowledge_base(home)
    kb.search("warm-up query about nothing in particular", k=K)
    latencies: list[list[float]] = []
    rankings: list[list[str]] = []
    for number in range(passes):
        times = []
        for item in labelled:
            start = time.perf_counter()
            hits = kb.search(item.query, k=K)
            times.append(time.perf_counter() - start)
            if number == 0:
                rankings.append([hit.source for hit in hits])
        latencies.append(times)
    modes = compare_modes(kb.search, labelled, K)
    print(json.dumps({"latencies": latencies, "rankings": rankings, "modes": modes}))


if __name__ == "__main__":
    main()
