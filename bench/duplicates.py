"""Near duplicates (kb/dedupe.py): precision and recall of duplicate groups on a planted set,
over shingle sizes and Jaccard thresholds, and the cost of linking at ingest.

The planted set is made here, deterministically (seed 7), from real text: the English d2l
sections (../shared/corpora/markdown), the Chinese ones (markdown-zh), the sample's documents
and write-ups (data/sample). For 36 originals (English, Chinese and sample alike) it plants:

- an exact copy,
- a small edit: a heading renamed, a few typos, one paragraph replaced by another document's,
- a re-post with about 15% changed: some paragraphs rewritten word by word, one dropped,
  one added from elsewhere;

and, as documents that must stay apart, the English originals of 20 Chinese sections
(bench/data/d2l-zh-origin: translation pairs, which share their code blocks) and every other
section of the same chapters (different documents on the same topic). The files are ingested
into a fresh store (the test suite's hashing embedder: vectors are not what is measured), and
the store's own documents (chunk bodies) are signed for each shingle size; groups are then
formed as the store forms them (stored order, each document linked to the canonical of its
most similar earlier document at or above the threshold).

Measured per (shingle size, threshold): pair precision and recall (pairs of documents put in
one group against the planted pairs), groups recovered exactly, translation pairs merged.
Usage: python bench/duplicates.py
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

from kb import open_knowledge_base  # noqa: E402
from kb.dedupe import NUM_PERM, THRESHOLD, document_text, signature, similarity  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
ORIGINS = ROOT / "bench" / "data" / "d2l-zh-origin"
SEED = 7
SHINGLES = (2, 3, 4, 5)
THRESHOLDS = [round(0.1 + 0.025 * i, 3) for i in range(33)]  # 0.100 .. 0.900


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def _typos(text: str, rng: random.Random, n: int) -> str:
    words = text.split(" ")
    for _ in range(n):
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rng.randrange(len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join(words)


def small_edit(text: str, other: str, rng: random.Random) -> str:
    """A heading renamed, five typos, one paragraph replaced by one of `other`'s."""
    paras = _paragraphs(text)
    for i, p in enumerate(paras):
        if p.startswith("#"):
            paras[i] = p.split("\n")[0] + " (revised)" + p[len(p.split("\n")[0]) :]
            break
    prose = [i for i, p in enumerate(paras) if not p.startswith(("#", "```", ":"))]
    if prose:
        paras[rng.choice(prose)] = rng.choice(_paragraphs(other))
    return _typos("\n\n".join(paras), rng, 5)


def repost(text: str, other: str, rng: random.Random) -> str:
    """About 15% changed: a tenth of the paragraphs rewritten (a third of their words
    replaced), one dropped, one added from `other`, and typos."""
    paras = _paragraphs(text)
    vocabulary = other.split()
    for i in rng.sample(range(len(paras)), max(1, len(paras) // 10)):
        words = paras[i].split(" ")
        for j in range(0, len(words), 3):
            words[j] = rng.choice(vocabulary)
        paras[i] = " ".join(words)
    if len(paras) > 3:
        del paras[rng.randrange(len(paras))]
    paras.insert(rng.randrange(len(paras) + 1), rng.choice(_paragraphs(other)))
    return _typos("\n\n".join(paras), rng, 10)


def plant(folder: Path) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """Write the planted set under `folder`: returns planted file -> its group (the
    original's name; an original is its own group) and the translation pairs."""
    rng = random.Random(SEED)
    sources: dict[str, str] = {}
    for base, pattern in (
        (CORPORA, "markdown/**/*.md"),
        (CORPORA, "markdown-zh/**/*.md"),
        (ROOT / "data" / "sample", "docs/**/*.md"),
        (ROOT / "data" / "sample", "writeups/*.md"),
    ):
        for path in sorted(base.glob(pattern)):
            sources[str(path.relative_to(base))] = path.read_text(encoding="utf-8")
    group: dict[str, str] = {}
    for name, text in sources.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
        group[name] = name
    names = sorted(sources)
    by_kind = {
        kind: [n for n in names if n.startswith(prefix)]
        for kind, prefix in (
            ("en", "markdown/"),
            ("zh", "markdown-zh/"),
            ("sample", ("docs/", "writeups/")),
        )
    }
    chosen = (
        rng.sample(by_kind["en"], 14)
        + rng.sample(by_kind["zh"], 12)
        + rng.sample(by_kind["sample"], 10)
    )
    for name in chosen:
        text = sources[name]
        other = sources[rng.choice([n for n in names if n != name])]
        stem = name[: -len(".md")]
        for suffix, made in (
            ("copy", text),
            ("edited", small_edit(text, other, rng)),
            ("reposted", repost(text, other, rng)),
        ):
            planted = f"planted/{stem}-{suffix}.md"
            (folder / planted).parent.mkdir(parents=True, exist_ok=True)
            (folder / planted).write_text(made, encoding="utf-8")
            group[planted] = name
    translations: set[tuple[str, str]] = set()
    for path in sorted(ORIGINS.glob("**/*_origin.md")):
        zh = "markdown-zh/" + str(path.relative_to(ORIGINS)).replace("_origin.md", ".md")
        name = "translations/" + str(path.relative_to(ORIGINS))
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        group[name] = name
        translations.add((zh, name))
    return group, translations


def groups_at(order: list[str], sigs: dict[str, object], threshold: float) -> dict[str, str]:
    """doc -> canonical, as the store links them (kb.dedupe.link_documents)."""
    canonical: dict[str, str] = {}
    seen: list[str] = []
    for doc in order:
        sig = sigs.get(doc)
        best: tuple[float, str] | None = None
        if sig is not None:
            for other in seen:
                score = similarity(sig, sigs[other])  # type: ignore[arg-type]
                if score >= threshold and (best is None or score > best[0]):
                    best = (score, other)
        canonical[doc] = doc if best is None else canonical[best[1]]
        if sig is not None:
            seen.append(doc)
    return canonical


def pairs(assignment: dict[str, str]) -> set[frozenset[str]]:
    members: dict[str, list[str]] = {}
    for doc, g in assignment.items():
        members.setdefault(g, []).append(doc)
    return {frozenset(p) for docs in members.values() for p in combinations(sorted(docs), 2)}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from ingest import ingest_paths
    from tests.fakes import HashingEmbedder

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "planted"
        truth, translations = plant(folder)
        kb = open_knowledge_base(Path(tmp) / "home", embedder=HashingEmbedder())  # type: ignore[arg-type]
        started = time.perf_counter()
        ingest_paths(kb, [folder])
        ingest_s = time.perf_counter() - started
        docs = {d.source: d.doc_id for d in kb.list_documents()}
        order = [doc for doc, _, _ in kb.store.signatures()]
        stored_groups = {link.doc_id: link.canonical for link in kb.store.duplicate_links(None)}
        texts = {
            doc_id: document_text(c.body for c in kb.get_chunks(doc_id)) for doc_id in docs.values()
        }
        started = time.perf_counter()
        kb.dedupe()
        recompute_s = time.perf_counter() - started
        recomputed_groups = {link.doc_id: link.canonical for link in kb.store.duplicate_links(None)}
        kb.close()
    true_pairs = pairs({d: truth[s] for s, d in docs.items()})
    translation_pairs = {frozenset((docs[a], docs[b])) for a, b in translations}
    per_size: dict[str, list[dict[str, float]]] = {}
    margins: dict[str, dict[str, float]] = {}
    for size in SHINGLES:
        sigs = {doc: signature(text, size) for doc, text in texts.items()}
        ordered = order + [d for d in texts if d not in order]
        signed = [d for d in ordered if sigs[d] is not None]
        matrix = np.vstack([sigs[d] for d in signed])
        lowest_true, highest_false = 1.0, 0.0
        for i, doc in enumerate(signed):
            scores = (matrix[i + 1 :] == matrix[i]).mean(axis=1)
            for j, score in enumerate(scores, start=i + 1):
                if frozenset((doc, signed[j])) in true_pairs:
                    lowest_true = min(lowest_true, float(score))
                else:
                    highest_false = max(highest_false, float(score))
        margins[str(size)] = {
            "lowest_duplicate_pair": round(lowest_true, 4),
            "highest_other_pair": round(highest_false, 4),
            "gap": round(lowest_true - highest_false, 4),
        }
        rows = []
        for threshold in THRESHOLDS:
            found = pairs(groups_at(ordered, sigs, threshold))
            hit = len(found & true_pairs)
            precision = hit / len(found) if found else 1.0
            recall = hit / len(true_pairs)
            f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
            rows.append(
                {
                    "threshold": threshold,
                    "precision": round(precision, 4),
                    "recall": round(recall, 4),
                    "f1": round(f1, 4),
                    "pairs_found": len(found),
                    "translations_merged": len(found & translation_pairs),
                }
            )
        per_size[str(size)] = rows
    # the store's own links (the shipped constants), as ingest made them, and as kb dedupe
    # makes them again
    stored_pairs = pairs({d: stored_groups.get(d, d) for d in docs.values()})
    hit = len(stored_pairs & true_pairs)
    recomputed_pairs = pairs({d: recomputed_groups.get(d, d) for d in docs.values()})
    recomputed_hit = len(recomputed_pairs & true_pairs)
    truth_groups: dict[str, set[str]] = {}
    for source, doc_id in docs.items():
        truth_groups.setdefault(truth[source], set()).add(doc_id)
    found_groups: dict[str, set[str]] = {}
    for doc_id in docs.values():
        found_groups.setdefault(stored_groups.get(doc_id, doc_id), set()).add(doc_id)
    planted_groups = [g for g in truth_groups.values() if len(g) > 1]
    exact = sum(1 for g in planted_groups if g in found_groups.values())
    kinds = {"copy": [], "edited": [], "reposted": []}  # type: dict[str, list[float]]
    for source, doc_id in docs.items():
        for kind in kinds:
            if source.endswith(f"-{kind}.md"):
                original = docs[truth[source]]
                a = signature(texts[doc_id])
                b = signature(texts[original])
                if a is not None and b is not None:
                    kinds[kind].append(similarity(a, b))
    translation_scores = []
    for a, b in translations:
        sa, sb = signature(texts[docs[a]]), signature(texts[docs[b]])
        if sa is not None and sb is not None:
            translation_scores.append(similarity(sa, sb))
    misses = sorted(
        source
        for source, doc_id in docs.items()
        if truth[source] != source
        and stored_groups.get(doc_id, doc_id)
        != stored_groups.get(docs[truth[source]], docs[truth[source]])
    )
    save(
        "duplicates",
        {
            "documents": len(docs),
            "planted_groups": len(planted_groups),
            "planted_pairs": len(true_pairs),
            "translation_pairs": len(translation_pairs),
            "num_perm": NUM_PERM,
            "shipped": {
                "threshold": THRESHOLD,
                "pair_precision": round(hit / len(stored_pairs), 4) if stored_pairs else 1.0,
                "pair_recall": round(hit / len(true_pairs), 4),
                "groups_exact": f"{exact}/{len(planted_groups)}",
                "translations_merged": len(stored_pairs & translation_pairs),
                "missed": misses,
            },
            "after_kb_dedupe": {
                "pair_precision": round(recomputed_hit / len(recomputed_pairs), 4)
                if recomputed_pairs
                else 1.0,
                "pair_recall": round(recomputed_hit / len(true_pairs), 4),
                "same_links_as_ingest": recomputed_groups == stored_groups,
            },
            "similarity_to_original": {
                kind: {
                    "min": round(min(v), 3),
                    "median": round(sorted(v)[len(v) // 2], 3),
                    "n": len(v),
                }
                for kind, v in kinds.items()
            },
            "translation_similarity_max": round(max(translation_scores), 3),
            "ingest_s": round(ingest_s, 2),
            "recompute_s": round(recompute_s, 2),
            "separation_by_shingle_size": margins,
            "by_shingle_size": per_size,
        },
    )


if __name__ == "__main__":
    main()
