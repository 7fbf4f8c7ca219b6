"""Sessions (issue "Answers, not just links", part 2): how many hits one training session
takes in a top 10 before and after collapsing, and whether the slide matched to a transcript
moment is the one that was on screen.

The sample corpus (data/sample, with its session in data/sample/sessions, made by
scripts/make_sample_session.py) is ingested into a fresh store with the default model.

1. Hits per session: for each query (the sample's 111 labelled queries, and 10 written
   for the session's material, `SESSION_QUERIES`), the top 10 with `collapse_sessions` off
   and on; for each session with at least two documents that appears in a top 10, how many
   of its hits it holds. Reported: the mean and maximum over (query, session) pairs, and the
   places a session's extra hits took (places that now go to other documents).
2. Slide matching: data/sample/sessions/slide-checks.jsonl (one check per minute of the
   recording: the slide on screen, written with the transcript), for each check the
   transcript chunk holding that second and the slide chosen for it by TF-IDF cosine (what
   search uses, kb.search.sessions.similarities) and by the sentence embedder's cosine over
   the same texts. And the other way: for each slide, whether the moment chosen is one
   labelled with that slide.

Run: .venv/bin/python bench/sessions.py
Results: bench/results/sessions.json, and the same on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.embed.registry import default_variant, make_embedder  # noqa: E402
from kb.search.evaluation import load_queries  # noqa: E402
from kb.search.sessions import PairMatch, chunk_text, similarities  # noqa: E402
from kb.types import ChunkInfo, DocumentInfo  # noqa: E402

SAMPLE = ROOT / "data" / "sample"
CHECKS = SAMPLE / "sessions" / "slide-checks.jsonl"
# Questions the session's material answers (written for this bench, not tuned on it).
SESSION_QUERIES = [
    "what kappa should annotators reach before we label at scale",
    "a five star review that complains in the text, which label",
    "how many reviews can one annotator label per hour",
    "hidden gold questions to check annotator quality",
    "who decides when three annotators give three different labels",
    "sarcastic review that sounds positive but is a complaint",
    "difference between neutral and mixed sentiment labels",
    "Krippendorff alpha for missing labels",
    "中文评论里的反讽怎么标注",
    "标注员之间的一致性怎么衡量",
]


def hits_per_session(base: KnowledgeBase, queries: list[str]) -> dict[str, Any]:
    sessions = Counter(d.session for d in base.list_documents() if d.session)
    shared = {s for s, n in sessions.items() if n >= 2}
    before: list[int] = []
    after: list[int] = []
    places_freed = 0
    queries_touched = 0
    for query in queries:
        plain = base.search(query, k=10, collapse_sessions=False)
        grouped = base.search(query, k=10)
        counts = Counter(h.session for h in plain if h.session in shared)
        if counts:
            queries_touched += 1
        before += list(counts.values())
        places_freed += sum(n - 1 for n in counts.values())
        after += list(Counter(h.session for h in grouped if h.session in shared).values())
    return {
        "queries": len(queries),
        "queries_with_a_session_in_top10": queries_touched,
        "sessions_with_2plus_documents": len(shared),
        "before": {
            "mean_hits_per_session": round(statistics.mean(before), 3) if before else 0.0,
            "max_hits_per_session": max(before, default=0),
            "pairs": len(before),
        },
        "after": {
            "mean_hits_per_session": round(statistics.mean(after), 3) if after else 0.0,
            "max_hits_per_session": max(after, default=0),
            "pairs": len(after),
        },
        "top10_places_freed": places_freed,
    }


def _by_source(base: KnowledgeBase, source: str) -> tuple[DocumentInfo, list[ChunkInfo]]:
    doc = next(d for d in base.find_documents(source))
    return doc, base.get_chunks(doc.doc_id)


def _embedded(base: KnowledgeBase, texts: list[str]) -> np.ndarray:
    vectors = np.asarray(base.embedder.encode_documents(texts), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def slide_matching(base: KnowledgeBase) -> dict[str, Any]:
    checks = [json.loads(line) for line in CHECKS.read_text().splitlines() if line.strip()]
    results: dict[str, Any] = {"checks": len(checks)}
    first = checks[0]
    transcript, moments = _by_source(base, f"sessions/{first['transcript']}")
    _, slides = _by_source(base, f"sessions/{first['deck']}")
    moment_texts = [chunk_text(c) for c in moments]
    slide_texts = [chunk_text(c) for c in slides]
    dense_m, dense_s = _embedded(base, moment_texts), _embedded(base, slide_texts)
    methods = {
        "tfidf": similarities(moment_texts, slide_texts),
        "embedder": dense_m @ dense_s.T,
    }
    methods["mean of both"] = (methods["tfidf"] + methods["embedder"]) / 2

    def moment_of(second: int) -> int:
        return next(
            i
            for i, c in enumerate(moments)
            if c.location.detail["start"] <= second <= c.location.detail["end"] + 1
        )

    labelled = {moment_of(c["t"]): c["slide"] for c in checks}
    for name, scores in methods.items():
        match = PairMatch.of(np.asarray(scores))
        wrong = []
        right = 0
        for check in checks:
            index = moment_of(check["t"])
            got = slides[match.slide_for[index][0]].location.detail["slide"]
            if got == check["slide"]:
                right += 1
            else:
                wrong.append({"t": check["t"], "labelled": check["slide"], "matched": got})
        back_right = sum(
            labelled.get(match.moment_for[j][0]) == s.location.detail["slide"]
            for j, s in enumerate(slides)
        )
        results[name] = {
            "moment_to_slide_accuracy": round(right / len(checks), 3),
            "right": right,
            "wrong": wrong,
            "slide_to_moment_accuracy": round(back_right / len(slides), 3),
        }
    results["used_by_search"] = "mean of both (tfidf alone while a chunk awaits its vector)"
    results["transcript"] = transcript.source
    return results


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="kb-bench-sessions-"))
    try:
        embedder = make_embedder(None, default_variant())
        base = open_knowledge_base(home, embedder=embedder)
        report = ingest_paths(base, [SAMPLE])
        assert not report.failed, report.failed
        queries = [q.query for q in load_queries(SAMPLE / "queries.jsonl")]
        payload = {
            "model": f"{embedder.name} ({embedder.variant})",
            "documents": base.stats()["documents"],
            "hits_per_session": {
                "sample_queries": hits_per_session(base, queries),
                "session_queries": hits_per_session(base, SESSION_QUERIES),
            },
            "slide_matching": slide_matching(base),
        }
        base.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    save("sessions", payload)


if __name__ == "__main__":
    main()
