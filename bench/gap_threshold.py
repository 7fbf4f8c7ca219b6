"""Calibrate the "found nothing good" threshold of the content-gaps report (kb.search.quality).

The sample corpus is ingested with the real model (or `--home` names a home that already holds
it); each labelled query of data/sample/queries.jsonl is searched in every mode, and its top
hit's score kept with whether that hit is relevant. Per mode and query language, the threshold
is the score that best separates relevant top hits from irrelevant ones (balanced accuracy;
none where the AUC is under kb.search.quality.MIN_AUC). The results, with every observation,
go to bench/results/gap_threshold.json; tests/recommender/test_content_gaps_threshold.py
recomputes the thresholds from those observations and checks them against
kb.search.quality.THRESHOLDS.

Run: .venv/bin/python bench/gap_threshold.py [--home DIR] [--model PATH] [--variant V]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import SEARCH_MODES, open_knowledge_base  # noqa: E402
from kb.language.terms import language_of
from kb.search.evaluation import load_queries
from kb.search.quality import MIN_AUC, THRESHOLDS, Observation, calibrate

SAMPLE = ROOT / "data" / "sample"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=None, help="a home holding the sample")
    parser.add_argument("--model", default=None)
    parser.add_argument("--variant", default=None)
    args = parser.parse_args()
    queries = load_queries(SAMPLE / "queries.jsonl")
    work = None if args.home else Path(tempfile.mkdtemp(prefix="kb-gap-threshold-"))
    home = args.home or work / "home"  # type: ignore[operator]
    kb = open_knowledge_base(home, model=args.model, variant=args.variant)
    try:
        report = ingest_paths(kb, [SAMPLE])  # unchanged files cost a hash in a given home
        rows: list[dict[str, object]] = []
        observations: list[Observation] = []
        for item in queries:
            language = language_of(item.query)
            for mode in SEARCH_MODES:
                hits = kb.search(item.query, k=10, mode=mode)
                score = hits[0].score if hits else 0.0
                relevant = bool(hits) and hits[0].source in item.relevant
                observations.append(Observation(mode, language, score, relevant))
                rows.append(
                    {
                        "query": item.query,
                        "lang": item.lang,
                        "language": language,
                        "mode": mode,
                        "score": score,
                        "relevant": relevant,
                    }
                )
        calibrations = calibrate(observations)
        stats = kb.stats()
        payload = {
            "model": stats.get("model"),
            "variant": stats.get("variant"),
            "documents": stats.get("documents"),
            "chunks": stats.get("chunks"),
            "queries": len(queries),
            "new_chunks_embedded": report.embedded,
            "min_auc": MIN_AUC,
            "calibrations": [asdict(c) for c in calibrations],
            "in_code": {f"{m}/{lang}": t for (m, lang), t in THRESHOLDS.items()},
            "observations": rows,
        }
    finally:
        kb.close()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    save("gap_threshold", payload)
    for c in calibrations:
        threshold = "none" if c.threshold is None else f"{c.threshold:g}"
        print(
            f"{c.mode:8} {c.language}: threshold {threshold:>10}  n={c.queries} "
            f"relevant={c.relevant} auc={c.auc} balanced accuracy={c.balanced_accuracy} "
            f"(good kept {c.good_above}, good flagged {c.good_below}, bad flagged "
            f"{c.bad_below}, bad kept {c.bad_above})",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
