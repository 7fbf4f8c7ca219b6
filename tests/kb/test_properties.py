"""Properties of kb's pure pieces, checked on generated input: a quoted answer's sentence
spans, the place a sentence points at, the bounded YAML loader, and rank fusion."""

from __future__ import annotations

import time

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.safe_yaml import YamlLimitError, load_yaml
from kb.search.answers import sentences
from kb.search.fusion import RRF_K, Ranked, fuse
from kb.search.places import place_at
from kb.types import ChunkInfo, Location, Place

# Chunk bodies as parsers write them: prose in both languages, list items, fences, tables,
# headings, speaker lines, hard-wrapped lines and blank lines between paragraphs.
LINE = st.one_of(
    st.text(min_size=0, max_size=80),
    st.sampled_from(
        [
            "The model converged after three epochs. Then it overfit!",
            "模型在三个周期后收敛。然后它过拟合了！",
            "- a list item that is long enough to be a sentence.",
            "```",
            "| a | b |",
            "# A heading",
            "> a quote of someone",
            "Ann: we should lower the learning rate.",
            "",
            "   ",
        ]
    ),
)
BODY = st.lists(LINE, max_size=12).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(body=BODY)
def test_sentence_spans_are_exact_ordered_and_disjoint(body: str) -> None:
    """Every sentence is the very text at its offsets (`body[start:end] == text`, so a quote
    can be marked where it stands), and the spans come in order without overlapping."""
    found = sentences(body)
    for sentence in found:
        assert 0 <= sentence.start < sentence.end <= len(body)
        assert body[sentence.start : sentence.end] == sentence.text
    for before, after in zip(found, found[1:], strict=False):
        assert before.end <= after.start


def _location(index: int) -> Location:
    return Location(f"page {index + 1}", f"page-{index + 1}", {"page": index + 1})


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=50), max_size=8),
    offset=st.integers(min_value=-5, max_value=400),
)
def test_place_at_names_the_piece_holding_the_offset(gaps: list[int], offset: int) -> None:
    """With places starting at 0 and growing, the piece for an offset is the last one that
    begins at or before it (the first for an offset before every place); a chunk without
    places answers with its own location."""
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    places = tuple(Place(start, _location(i)) for i, start in enumerate(starts))
    own = Location("pages 1-9", "page-1", {})
    chunk = ChunkInfo(1, "d", 0, "", "x" * (starts[-1] + 60), own, places if gaps else ())
    if not gaps:
        assert place_at(chunk, offset) == own
        return
    expected = max((i for i, start in enumerate(starts) if start <= offset), default=0)
    assert place_at(chunk, offset) == _location(expected)


YAMLISH = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(
            [
                "a: 1",
                "- x",
                "  - y",
                "&a [1, 2]",
                "*a",
                "b: *a",
                "[",
                "]",
                "{",
                "}",
                ": :",
                "!!python/object:os.system",
                "'",
                '"',
                "? k",
                "--- ",
                "...",
                "\t",
                "%YAML 1.1",
                "c: !!binary aGk=",
                "d: 2024-13-45",
                "e: 1e999999",
            ]
        ),
        max_size=30,
    ).map("\n".join),
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),  # past Python's recursion
    st.integers(1, 12).map(
        lambda n: (
            "a: &a0 [x, x]\n"
            + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, n))
        )
    ),  # aliases that stand for 3**n values
)


@settings(max_examples=200, deadline=None)
@given(text=YAMLISH)
def test_the_yaml_loader_raises_only_its_own_errors_and_stays_bounded(text: str) -> None:
    """On any text the loader returns plain data or raises `yaml.YAMLError` (invalid YAML)
    or `YamlLimitError` (over a limit): never RecursionError, TypeError or another crash,
    never an object of an unsafe tag, and quickly."""
    started = time.monotonic()
    try:
        value = load_yaml(text)
    except (yaml.YAMLError, YamlLimitError):
        value = None
    assert time.monotonic() - started < 2
    plain = (dict, list, str, int, float, bool, bytes, type(None))
    stack = [value]
    while stack:
        item = stack.pop()
        assert isinstance(item, plain) or hasattr(item, "isoformat"), type(item)
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item


DOCS = st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10)


def _ranked(docs: list[str]) -> Ranked:
    return Ranked({doc: (rank, 100 + rank, 1.0) for rank, doc in enumerate(docs, start=1)})


@settings(max_examples=200, deadline=None)
@given(
    dense=DOCS,
    lexical=DOCS,
    weights=st.tuples(st.floats(0.0, 2.0), st.floats(0.0, 2.0)),
)
def test_fusion_ranks_each_document_once_and_rewards_agreement(
    dense: list[str], lexical: list[str], weights: tuple[float, float]
) -> None:
    """Reciprocal-rank fusion: scores never rise down the list, each document comes once,
    and a document found by both sides scores at least what either side alone gives it."""
    fused = fuse([_ranked(dense), _ranked(lexical)], weights)
    scores = [score for _, _, score in fused]
    assert scores == sorted(scores, reverse=True)
    ids = [doc for doc, _, _ in fused]
    assert len(ids) == len(set(ids))
    counted = {d for side, w in ((dense, weights[0]), (lexical, weights[1])) if w > 0 for d in side}
    assert set(ids) == counted
    score_of = {doc: score for doc, _, score in fused}
    for doc in set(dense) & set(lexical) & set(ids):
        for side, weight in ((dense, weights[0]), (lexical, weights[1])):
            alone = weight / (RRF_K + side.index(doc) + 1) if weight > 0 else 0.0
            assert score_of[doc] >= alone
