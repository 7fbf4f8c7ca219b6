"""Git source sync cost: a repository of 1,000 Markdown files made with `git init`, synced
once in full, then re-synced unchanged (goal: under 1 s, 0 files parsed: one fetch), then
after a commit touching 3 files (goal: exactly those 3 parsed), then after a force-push that
rewrites the last commit (a full comparison by content hash). Real `git` fetches from a path
URL into the source's own clone; the store is SQLite with the hashing stand-in model, so the
figures are the sync's own costs, not the encoder's (embedding is left to the queue).

Run: .venv/bin/python bench/git_sync.py [--files 1000] [--rounds 5]
-> bench/results/git_sync.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import save  # noqa: E402

from ingest.sources.kinds import KINDS  # noqa: E402
from ingest.sources.sync import Syncer  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.sources import SourceSpec  # noqa: E402
from kb.sources.sqlite import SqliteSourceRegistry  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402
from tests.git_helpers import Repo, git, page  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-git-bench-") as tmp:
        folder = Path(tmp)
        repo = Repo(folder / "git")
        for n in range(args.files):
            target = repo.work / f"docs/section-{n % 20:02d}/page-{n:04d}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page(f"Page {n}", f"Material number {n} of the programme. " * 8))
        git(repo.work, "add", "-A")
        repo.commit("a thousand pages")
        home = folder / "home"
        kb = open_knowledge_base(home, embedder=HashingEmbedder())
        registry = SqliteSourceRegistry.in_home(home)
        link = "https://git.example.com/r/blob/{commit}/{path}"
        registry.add(KINDS["git"].check(SourceSpec("bench", "git", repo.url, link=link)))
        syncer = Syncer(kb, registry, home, embed=False)

        started = time.perf_counter()
        first = syncer.sync("bench")
        first_seconds = time.perf_counter() - started
        assert first.error is None and first.added == args.files, first

        unchanged: list[float] = []
        parsed_unchanged: list[int] = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            report = syncer.sync("bench")
            unchanged.append(time.perf_counter() - started)
            parsed_unchanged.append(report.parsed)
            assert report.mode == "unchanged"

        touched = [f"docs/section-{n % 20:02d}/page-{n:04d}.md" for n in (7, 421, 999)]
        repo.write({path: page("Edited", f"Edited page {path}.") for path in touched})
        repo.commit("three pages edited")
        started = time.perf_counter()
        three = syncer.sync("bench")
        three_seconds = time.perf_counter() - started
        assert (three.mode, three.parsed, three.updated) == ("diff", 3, 3), three

        repo.reset_hard("HEAD~1")
        repo.write({touched[0]: page("Rewritten", "History rewritten.")})
        repo.commit("rewritten", force=True)
        started = time.perf_counter()
        forced = syncer.sync("bench")
        forced_seconds = time.perf_counter() - started
        assert forced.mode == "full" and kb.stats()["documents"] == args.files, forced
        registry.close()
        kb.close()

    results = {
        "files": args.files,
        "first_sync": {"seconds": round(first_seconds, 3), "parsed": first.parsed},
        "unchanged_resync": {
            "seconds_median": round(statistics.median(unchanged), 4),
            "seconds_max": round(max(unchanged), 4),
            "parsed": max(parsed_unchanged),
            "fetches": 1,
            "goal": "< 1 s, 0 files parsed",
            "met": max(unchanged) < 1.0 and max(parsed_unchanged) == 0,
        },
        "three_files_commit": {
            "seconds": round(three_seconds, 3),
            "parsed": three.parsed,
            "updated": three.updated,
            "goal": "only the 3 files parsed",
            "met": three.parsed == 3,
        },
        "force_push_full_comparison": {
            "seconds": round(forced_seconds, 3),
            "parsed": forced.parsed,
            "unchanged": forced.unchanged,
            "documents_after": args.files,
        },
        "setup": "SQLite store, hashing stand-in embedder (embedding left to the queue), "
        "git 2.39 fetch from a path URL, 2 shared cores",
    }
    save("git_sync", results)


if __name__ == "__main__":
    main()
