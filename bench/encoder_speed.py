"""Encoder speed: the bare fp32 PyTorch `model.encode` beside ONNX Runtime fp32 and int8 on
the same texts (the sample corpus's chunk texts), in one process, the three alternating in
each round; medians of several rounds; cosine of each ONNX variant's vectors to PyTorch's.

The PyTorch side is sentence-transformers' own `encode` of all texts in one call (batch 32).
The ONNX sides are this project's embedders through their scheduler (`encode_documents`:
shortest first, batches of 32), so the figure is what an ingest gets.

Run: .venv/bin/python bench/encoder_speed.py [--rounds 5] [--cache DIR] [PATH ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.embed.base import ONNX_FP32, ONNX_INT8
from kb.embed.onnx import OnnxEmbedder, int8_weight_type
from kb.embed.registry import make_embedder
from kb.embed.torch import SentenceTransformerEmbedder


class TextsOnly:
    """An embedder that only collects what it is asked to encode (zero vectors back), so
    the pipeline yields exactly the chunk texts an ingest embeds, without a model."""

    name, variant, dim, max_tokens = "texts-only", "none", 384, 256

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return np.zeros(self.dim, dtype=np.float32)


def chunk_texts(paths: list[str]) -> list[str]:
    """The chunk texts of an ingest of `paths`, as stored (heading + body)."""
    with tempfile.TemporaryDirectory() as home:
        kb = open_knowledge_base(Path(home), embedder=TextsOnly())
        ingest_paths(kb, paths)
        texts = [
            f"{c.heading}\n{c.body}" if c.heading else c.body
            for doc in kb.list_documents()
            for c in kb.get_chunks(doc.doc_id)
        ]
        kb.close()
    return texts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "data" / "sample")])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    cache = args.cache or Path(os.environ.get("KB_MODEL_CACHE") or tempfile.mkdtemp())
    torch_embedder = SentenceTransformerEmbedder()
    model = torch_embedder._loaded()
    texts = chunk_texts(args.paths)
    onnx: dict[str, OnnxEmbedder] = {}
    for variant in (ONNX_FP32, ONNX_INT8):
        embedder = make_embedder(None, variant, cache_dir=cache)
        assert isinstance(embedder, OnnxEmbedder)
        started = time.perf_counter()
        embedder.encode_documents(["warm up the model"] * 8)
        print(f"{variant}: ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        onnx[variant] = embedder
    model.encode(["warm up the model"] * 8, batch_size=32, normalize_embeddings=True)

    seconds: dict[str, list[float]] = {"torch-fp32": [], ONNX_FP32: [], ONNX_INT8: []}
    reference = np.zeros(0)
    vectors: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):
        started = time.perf_counter()
        reference = model.encode(texts, batch_size=32, normalize_embeddings=True)
        seconds["torch-fp32"].append(time.perf_counter() - started)
        for variant, embedder in onnx.items():
            started = time.perf_counter()
            vectors[variant] = embedder.encode_documents(texts)
            seconds[variant].append(time.perf_counter() - started)
        print(
            f"round {round_ + 1}: "
            + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in seconds.items()),
            file=sys.stderr,
        )
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    cosines = {
        variant: (vectors[variant] * reference).sum(axis=1) for variant in (ONNX_FP32, ONNX_INT8)
    }
    save(
        "encoder_speed",
        {
            "corpus": [os.path.relpath(p, ROOT) for p in args.paths],
            "texts": len(texts),
            "rounds": args.rounds,
            "cpu_threads": os.cpu_count(),
            "int8_weights": int8_weight_type(),
            "median_s": {name: round(value, 3) for name, value in medians.items()},
            "texts_per_s": {name: round(len(texts) / value, 1) for name, value in medians.items()},
            "speedup_vs_torch_fp32": {
                name: round(medians["torch-fp32"] / value, 3) for name, value in medians.items()
            },
            "rounds_s": {name: [round(v, 3) for v in values] for name, values in seconds.items()},
            "cosine_to_torch_fp32": {
                variant: {
                    "mean": round(float(c.mean()), 4),
                    "min": round(float(c.min()), 4),
                }
                for variant, c in cosines.items()
            },
        },
    )


if __name__ == "__main__":
    main()
