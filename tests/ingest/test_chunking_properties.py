"""Properties of the chunk packer (ingest.chunking.pack), checked on generated text:
English, Chinese, punctuation and code-like words, units small and large."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunking import estimate_tokens, pack

WORD = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789_", min_size=1, max_size=30),
    st.text(alphabet="神经网络模型训练数据。！？", min_size=1, max_size=6),
    st.sampled_from([".", ",", "!", "?", "(x)", "—", "Mr.", "e.g."]),
)
UNIT = st.lists(WORD, min_size=1, max_size=40).map(" ".join)
BUDGET = st.integers(min_value=4, max_value=60)


@settings(max_examples=150, deadline=None)
@given(units=st.lists(UNIT, min_size=1, max_size=25), budget=BUDGET)
def test_every_unit_is_in_exactly_one_chunk_in_order_and_no_chunk_is_over_budget(
    units: list[str], budget: int
) -> None:
    """Units that each fit the budget are packed whole: read back from the chunks (split at
    the joiner), they are the units given, each once, in order; every chunk fits."""
    units = [u for u in units if estimate_tokens(u) <= budget] or ["one"]
    chunks = pack(units, budget)
    assert [part for chunk in chunks for part in chunk.split("\n\n")] == units
    assert all(estimate_tokens(chunk) <= budget for chunk in chunks)


@settings(max_examples=150, deadline=None)
@given(units=st.lists(UNIT, min_size=1, max_size=10), budget=BUDGET)
def test_a_unit_over_the_budget_is_split_and_no_text_is_lost_or_moved(
    units: list[str], budget: int
) -> None:
    """Whatever the units' sizes, the chunks hold all their text (white space aside) in the
    order given, and a chunk is over the budget only when it is one unit that cannot be cut
    further (a single word-part of one token over a tiny budget)."""
    chunks = pack(units, budget)
    assert "".join("".join(chunks).split()) == "".join("".join(units).split())
    for chunk in chunks:
        assert estimate_tokens(chunk) <= budget or len(chunk.split()) == 1
