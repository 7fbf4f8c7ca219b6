"""What the dense side needs to embed (issue "Searchable at once", part 3): everything (as
before), notebook code cells' outputs indexed for their words only, or fenced code blocks
too (ingest.formats.notebook.EMBED_OUTPUTS, ingest.dense.EMBED_CODE).

For each policy, the same files are ingested into a fresh store with the default model and
variant, and the bench reports the texts and model tokens embedded per kind of file, and
recall/MRR/nDCG@10 of dense, lexical and hybrid search on labelled queries written before
the change: bench/data/corpora_queries.jsonl (65 queries over the shared corpora's markdown,
notebooks and transcripts) and data/sample/queries.jsonl (the sample corpus). Each query set
is split in two halves by a hash of the query text: the policy was chosen on the "tune" half
only (the policy embedding the fewest tokens whose hybrid nDCG@10 is within 0.01 of
"everything" on both query sets' tune halves); the "held_out" half is reported
beside it and was not looked at while choosing.

Vectors are cached by text across the policies (a text embedded under one is not encoded
again under the other), so the bench's wall time says nothing; the token counts are what an
ingest encodes. Time an ingest with bench/txtai_compare.py.

Run: .venv/bin/python bench/dense_text.py [--corpora ../shared/corpora]
Results: bench/results/dense_text.json, and a table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

import ingest.dense as dense_rules  # noqa: E402
import ingest.formats.notebook as notebook_format  # noqa: E402
from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.embed.registry import default_variant, make_embedder  # noqa: E402
from kb.search.evaluation import LabelledQuery, compare_modes, load_queries  # noqa: E402

KINDS = {"markdown": ".md", "notebooks": ".ipynb", "transcripts": ".srt"}
# (notebook outputs embedded, fenced code embedded)
POLICIES = {
    "everything": (True, True),
    "outputs words only": (False, True),
    "outputs, code words only": (False, False),
}


class CachingEmbedder:
    """The real embedder, encoding each distinct text once across every store of the run and
    counting the texts and tokens each store asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        todo = [text for text in dict.fromkeys(texts) if text not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.encode_documents(todo), strict=True))
        if not texts:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.stack([self.cache[text] for text in texts])


def half_of(query: LabelledQuery) -> str:
    digest = hashlib.sha1(query.query.encode()).digest()[0]
    return "tune" if digest % 2 == 0 else "held_out"


def stage(corpora: Path, into: Path) -> Path:
    for kind, suffix in KINDS.items():
        for path in sorted((corpora / kind).rglob(f"*{suffix}")):
            target = into / path.relative_to(corpora)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return into


def run_policy(
    policy: tuple[bool, bool],
    folder: Path,
    queries: list[LabelledQuery],
    model: CachingEmbedder,
    work: Path,
) -> dict[str, Any]:
    defaults = (notebook_format.EMBED_OUTPUTS, dense_rules.EMBED_CODE)
    notebook_format.EMBED_OUTPUTS, dense_rules.EMBED_CODE = policy
    model.asked.clear()
    home = Path(tempfile.mkdtemp(dir=work))
    kb = open_knowledge_base(home, embedder=model)  # type: ignore[arg-type]
    try:
        report = ingest_paths(kb, [folder])
        assert not report.failed, report.failed
        count = model.inner.count_tokens
        window = model.inner.max_tokens
        tokens = sum(min(count(text), window) for text in model.asked)
        halves: dict[str, list[LabelledQuery]] = {"tune": [], "held_out": []}
        for query in queries:
            halves[half_of(query)].append(query)
        quality = {
            name: {"queries": len(part), **compare_modes(kb.search, part)}
            for name, part in halves.items()
        }
        quality["all"] = {"queries": len(queries), **compare_modes(kb.search, queries)}
        return {
            "chunks": report.chunks,
            "texts_embedded": len(model.asked),
            "tokens_embedded": tokens,
            "quality": quality,
        }
    finally:
        kb.close()
        notebook_format.EMBED_OUTPUTS, dense_rules.EMBED_CODE = defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    args = parser.parse_args()
    model = CachingEmbedder(make_embedder(None, default_variant()))
    results: dict[str, Any] = {"variant": model.inner.variant, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sets = {
            "corpora": (
                stage(args.corpora, work / "stage"),
                load_queries(ROOT / "bench" / "data" / "corpora_queries.jsonl"),
            ),
            "sample": (
                ROOT / "data" / "sample",
                load_queries(ROOT / "data" / "sample" / "queries.jsonl"),
            ),
        }
        for set_name, (folder, queries) in sets.items():
            results["sets"][set_name] = {
                name: run_policy(policy, folder, queries, model, work)
                for name, policy in POLICIES.items()
            }
    save("dense_text", results)
    print(
        f"{'set':8} {'policy':20} {'texts':>6} {'tokens':>8}  nDCG@10 hybrid/dense tune | held-out"
    )
    for set_name, policies in results["sets"].items():
        for policy, row in policies.items():
            q = row["quality"]
            print(
                f"{set_name:8} {policy:20} {row['texts_embedded']:6d} {row['tokens_embedded']:8d}  "
                f"{q['tune']['hybrid']['ndcg@10']:.3f}/{q['tune']['dense']['ndcg@10']:.3f} | "
                f"{q['held_out']['hybrid']['ndcg@10']:.3f}/{q['held_out']['dense']['ndcg@10']:.3f}"
            )


if __name__ == "__main__":
    main()
