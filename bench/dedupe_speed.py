"""What linking near duplicates costs each written document as the store grows (issue
"Answers, not just links", part 3: linking read every stored signature, twice, for each
document written).

A store is filled with N signed documents of generated text (words drawn from a vocabulary
of 5,000, so that documents share words but are no copies; a tenth of the new documents are
copies of stored ones), then 60 more are written one at a time as ingest writes them, each
linked (`KnowledgeBase._link_duplicates`, i.e. `kb.dedupe.link_documents`); the bench reports
the median and p95 time of that link per document at each N. The first link after the fill is
left out of the figures (a store signed before the band table gives its documents their band
keys then, `kb.dedupe.ensure_bands`) and reported apart.

Run it on two checkouts side by side to compare: PYTHONPATH=CHECKOUT python bench/dedupe_speed.py
[--sizes 1000 5000 20000] [--name dedupe_speed]. Results: bench/results/NAME.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import save, summary_ms  # noqa: E402

from kb import open_knowledge_base  # noqa: E402
from kb.dedupe import signature_of, to_bytes  # noqa: E402
from kb.types import ChunkInput, DocumentInput, DocumentMeta, Location  # noqa: E402

NEW_DOCUMENTS = 60
VOCABULARY = [f"w{i}" for i in range(5000)]


def document(origin: str, rng: random.Random) -> DocumentInput:
    paragraphs = [" ".join(rng.choices(VOCABULARY, k=120)) for _ in range(4)]
    chunks = tuple(
        ChunkInput(f"{origin} > {i}", p, Location(f"part {i}")) for i, p in enumerate(paragraphs)
    )
    return DocumentInput(origin, origin, "markdown", origin, DocumentMeta(title=origin), chunks)


def measure(size: int, seed: int = 7) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fakes import HashingEmbedder

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        kb = open_knowledge_base(Path(tmp) / "home", embedder=HashingEmbedder())  # type: ignore[arg-type]
        stored: list[DocumentInput] = []
        started = time.perf_counter()
        for i in range(size):  # signed, not linked: what a store of `size` holds
            doc = document(f"stored/{i}.md", rng)
            doc_id, _ = kb.store.replace_document(doc, [None] * len(doc.chunks))
            sig = signature_of(doc)
            kb.store.put_signature(doc_id, None if sig is None else to_bytes(sig), None, None)
            stored.append(doc)
        fill_s = time.perf_counter() - started
        times: list[float] = []
        first_s = 0.0
        copies = 0
        for i in range(NEW_DOCUMENTS + 1):
            if i % 10 == 5:  # a copy of a stored document under another name
                copies += 1
                base = rng.choice(stored)
                doc = DocumentInput(
                    f"new/{i}.md", f"new/{i}.md", "markdown", f"new/{i}.md", base.meta, base.chunks
                )
            else:
                doc = document(f"new/{i}.md", rng)
            doc_id, _ = kb.store.replace_document(doc, [None] * len(doc.chunks))
            begun = time.perf_counter()
            kb._link_duplicates([(doc_id, doc)])
            took = time.perf_counter() - begun
            if i == 0:
                first_s = took
            else:
                times.append(took)
        linked = len(kb.store.duplicate_links(None))
        kb.close()
    return {
        "stored_documents": size,
        "fill_s": round(fill_s, 1),
        "link_per_document": summary_ms(times),
        "first_link_ms": round(first_s * 1000, 1),
        "copies_written": copies,
        "links_made": linked,
        "mean_ms": round(statistics.mean(times) * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--name", default="dedupe_speed")
    args = parser.parse_args()
    save(args.name, {"new_documents": NEW_DOCUMENTS, "runs": [measure(n) for n in args.sizes]})


if __name__ == "__main__":
    main()
