"""A small corpus for the contract suites run on both backends (tests/contracts/,
tests/contracts/test_concurrency.py): every format, every metadata key, restricted documents, and
the words the two lexical indexes must treat alike (stems, identifiers, diacritics, Chinese
inside longer words, full-width letters)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from kb import ChunkInfo, DocumentInfo, Hit, KnowledgeBase
from tests.fakes import HashingEmbedder
from tests.helpers import code_cell, markdown_doc, md_cell, notebook, write


class TieFreeEmbedder(HashingEmbedder):
    """The hashing test model with a small fixed jitter per text, so that no two texts are
    exactly as near to a query (the bare model puts every text sharing no word with the query
    at cosine 0, and the two backends may order such ties differently): rankings compared
    across backends are then fully determined. Still a model for mechanics only."""

    name = "tests/hashing-words-jittered"

    def _one(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        jitter = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
        vector = super()._one(text) + 0.05 * jitter / float(np.linalg.norm(jitter))
        return vector / float(np.linalg.norm(vector))


TRANSCRIPT = """WEBVTT

NOTE
title: Drift office hours
team: mlops
course: mlops-foundations
module: monitoring
skills: [model-monitoring]
tags: [transcript]

00:00:01.000 --> 00:00:05.000
Ana Silva: Escalation goes to the on-call engineer when two alerts fire in a day.

00:00:06.000 --> 00:00:09.000
林佳慧：告警升级之前，先确认特征分布真的变了。
"""

FILES: dict[str, str] = {
    "drift.md": markdown_doc(
        "Drift alerts",
        {
            "Tuning the thresholds": "We tuned the PSI thresholds after the alerts fired "
            "every week.",
            "Naïve baselines": "A naïve baseline compares last week's feature histogram "
            "with this week's.",
        },
        team="mlops",
        course="mlops-foundations",
        module="drift",
        skills=["model-monitoring", "Statistics"],
        tags=["alerts"],
        author="Jonas Weber",
        date="2026-05-12",
    ),
    "lora.md": markdown_doc(
        "LoRA adapters",
        {
            "Config": "Set lora_alpha to 16 and the rank r to 8; target_modules cover the "
            "attention projections (q_proj, v_proj).",
        },
        team="support-ai",
        course="llm-finetuning",
        module="lora",
        skills=["fine-tuning"],
        tags=["LoRA", "gpu"],
        visibility=["support-ai"],
    ),
    "secret.md": markdown_doc(
        "Recsys tuning notes",
        {"Playbook": "Our zanzibarquokka tuning playbook: Bayesian search over the learning rate."},
        team="recsys",
        skills=["hyperparameter-tuning"],
        visibility=["recsys", "mlops"],
    ),
    "attention.md": markdown_doc(
        "注意力机制笔记",
        {
            "加权系数": "注意力汇聚的输出是值的加权平均，加权系数由查询和键的评分函数经过 "
            "softmax 得到。",
            "循环神经网络": "循环神经网络按时间步展开，梯度会消失或爆炸。",
        },
        team="nlp",
        course="nlp-sentiment",
        skills=["attention"],
        tags=["中文"],
    ),
    "lora-zh.md": markdown_doc(
        "LoRA 微调复盘",
        {"rank 的选择": "LoRA 的 rank 取 8 时效果最好，batch size 为 32，学习率 2e-4。"},
    ),
    "search.ipynb": notebook(
        [
            md_cell("# Random search\n\nTuning learning rates with random search beats a grid."),
            code_cell("study.optimize(objective, n_trials=50)"),
        ],
        title="Random search notebook",
        team="nlp",
        course="nlp-sentiment",
        module="hpo",
        skills=["hyperparameter-tuning"],
        tags=["notebook"],
    ),
    "office-hours.vtt": TRANSCRIPT,
}

# Words each lexical index must match the same way: stems ("tuning" meets "tuned"),
# identifiers (lora_alpha holds "alpha"), diacritics ("naive" meets "naïve"), a possessive,
# Chinese words inside longer ones, full-width letters, and mixed queries.
LEXICAL_QUERIES = [
    "tuning",
    "tuned thresholds",
    "histograms",
    "naive baseline",
    "alpha",
    "lora_alpha target modules",
    "last week's histogram",
    "escalation on-call",
    "加权系数",
    "系数",
    "网络",
    "神经网络 梯度",
    "ＬｏＲＡ，ｒａｎｋ？",
    "LoRA 的 rank 怎么选",
    "告警 升级",
    "zanzibarquokka",
]


def write_corpus(folder: Path) -> Path:
    for name, text in FILES.items():
        write(folder / name, text)
    return folder


def sources(hits: list[Hit]) -> list[str]:
    return [hit.source for hit in hits]


def document_view(doc: DocumentInfo) -> dict[str, Any]:
    """Everything a stored document says (ids and origins included: both backends derive
    them from the file's path)."""
    return asdict(doc)


def chunk_view(chunk: ChunkInfo) -> dict[str, Any]:
    """A chunk without its id (each store numbers chunks its own way)."""
    view = asdict(chunk)
    del view["chunk_id"]
    return view


def hit_view(hit: Hit) -> dict[str, Any]:
    """A hit without its chunk id; the score to 4 decimals (cosines and BM25 are computed in
    float32 by faiss and SQLite, in float8 by PostgreSQL)."""
    view = asdict(hit)
    del view["chunk_id"]
    view["score"] = round(hit.score, 4)
    return view


def documents_of(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every document with its chunks, as comparable values."""
    return [
        {**document_view(doc), "chunks": [chunk_view(c) for c in kb.get_chunks(doc.doc_id)]}
        for doc in kb.list_documents()
    ]
