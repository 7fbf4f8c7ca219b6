"""Documents are batched by the model's token count, not by characters: English, Chinese and
code mixed come out in batches of about as many tokens each, every vector in its text's place
and equal to the text encoded alone (the real model, PyTorch fp32)."""

from __future__ import annotations

import numpy as np

from kb import SentenceTransformerEmbedder
from kb.embed.scheduler import EncoderScheduler
from tests.kb.test_scheduler import Recording

TEXTS = [
    "低秩适配器在注意力权重上加入可训练的小矩阵，秩越大越能拟合，但显存占用也越多。",
    "Class imbalance: the classifier learns to predict the label that dominates.",
    "数据漂移",
    "def f(x): return {k: v for k, v in x.items() if v is not None}  # keep set values",
    "Drift detection compares the live feature distribution with the training one, "
    "feature by feature, and raises an alert when the distance passes a threshold.",
    "模型评估：准确率、召回率和 F1 值在类别不平衡时的含义各不相同，需要分别查看。",
    "LoRA rank.",
    "Cold start: a new user has no history, so content features carry it.",
    "检索增强生成",
    "Mean average precision rewards rankings that put relevant items first.",
]


def test_documents_are_batched_by_token_count_and_keep_their_order(
    embedder: SentenceTransformerEmbedder,
) -> None:
    batched = SentenceTransformerEmbedder(batch_size=3)
    model = Recording(embedder.model)
    batched._scheduler = EncoderScheduler(model, batch_size=3)
    vectors = batched.encode_documents(TEXTS)
    counts = {text: embedder.count_tokens(text) for text in TEXTS}
    sizes = [[counts[t] for t in call[0]] for call in model.calls]
    assert sorted(t for call in model.calls for t in call[0]) == sorted(TEXTS)
    for before, after in zip(sizes, sizes[1:], strict=False):
        assert max(before) <= min(after), sizes
    alone = np.stack([embedder.model.encode_batch([text])[0] for text in TEXTS])
    assert (vectors * alone).sum(axis=1).min() > 0.9999
