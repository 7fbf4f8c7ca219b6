"""Quoted answers (kb.search.answers): what reads as a question, how a chunk is cut into
sentences with exact offsets (so a quote is always the stored text), and a real search over the
sample answering a question with a quote from the document that says it, or with nothing."""

from __future__ import annotations

import pytest

from kb import KnowledgeBase
from kb.search.answers import reads_as_question, sentences


@pytest.mark.parametrize(
    "query",
    [
        "how do I pick the LoRA rank",
        "What does PSI measure?",
        "is macro-F1 better than accuracy here",
        "LoRA rank?",
        "梯度累积的时候学习率要不要跟着改",
        "为什么要做梯度检查点",
        "QLoRA 能省多少显存",
    ],
)
def test_questions_in_either_language_read_as_questions(query: str) -> None:
    assert reads_as_question(query)


@pytest.mark.parametrize("query", ["LoRA rank", "drift alerts runbook", "梯度累积的学习率", ""])
def test_keywords_are_no_question(query: str) -> None:
    assert not reads_as_question(query)


BODY = """In the Lumen review corpus 71% of reviews are positive.
A model trained naively learns that "positive" is a safe bet. This lecture covers how
to stop that from happening.

## Symptoms

- High accuracy, poor macro-F1 (e.g. 0.84 accuracy, 0.61 macro-F1).
- Predicted labels more skewed than the true ones: the model predicts
  positive 83% of the time

| metric | value |
|---|---|

```python
threshold = 0.5  # not a sentence
```
王磊: 先开 gradient checkpointing，再把 batch size 降到 1。有效 batch 不变的话学习率不用改
Priya Raman: Category first. Length slices rediscover the sarcasm problem."""


def test_a_chunk_is_cut_into_sentences_whose_offsets_give_the_stored_text() -> None:
    found = sentences(BODY)
    assert all(BODY[s.start : s.end] == s.text for s in found)
    texts = [s.text for s in found]
    assert texts[:3] == [
        "In the Lumen review corpus 71% of reviews are positive.",
        'A model trained naively learns that "positive" is a safe bet.',
        "This lecture covers how\nto stop that from happening.",  # one sentence, two lines
    ]
    assert "High accuracy, poor macro-F1 (e.g. 0.84 accuracy, 0.61 macro-F1)." in texts
    assert any(t.startswith("Predicted labels") and t.endswith("83% of the time") for t in texts)
    assert "王磊: 先开 gradient checkpointing，再把 batch size 降到 1。" in texts
    assert "有效 batch 不变的话学习率不用改" in texts
    assert "Priya Raman: Category first." in texts
    assert not any("threshold" in t or "metric" in t or "Symptoms" in t for t in texts)


def test_a_question_is_answered_by_a_quote_from_the_document_that_says_it(
    sample_kb: KnowledgeBase,
) -> None:
    query = "what share of the review corpus is positive?"
    hits = sample_kb.search(query)
    quoted = sample_kb.answer(query, hits)
    assert quoted is not None
    chunk = next(c for c in sample_kb.get_chunks(quoted.doc_id) if c.chunk_id == quoted.chunk_id)
    assert chunk.body[quoted.start : quoted.end] == quoted.text  # exactly as stored
    assert "71%" in quoted.text and "positive" in quoted.text


def test_a_question_the_material_does_not_answer_gets_no_answer(sample_kb: KnowledgeBase) -> None:
    for query in ("what is the capital of France?", "who won the 2022 football world cup?"):
        assert sample_kb.answer(query, sample_kb.search(query)) is None, query


def test_keywords_get_hits_but_no_answer(sample_kb: KnowledgeBase) -> None:
    query = "review corpus positive share"
    hits = sample_kb.search(query)
    assert hits and sample_kb.answer(query, hits) is None
