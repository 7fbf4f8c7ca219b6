"""Fitting text to the embedding model's window, without knowing the model.

Token counts are estimated (a word piece per short word, more for long words, one per
punctuation mark): a slight over-estimate of BERT word pieces, so chunks stay in the window.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


def estimate_tokens(text: str) -> int:
    total = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        total += 1 + len(token) // 8 if token[0].isalnum() or token[0] == "_" else 1
    return total


def _pieces(text: str) -> list[str]:
    """Paragraphs, or lines for code and lists, as the units a chunk is built from."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs


def _split_unit(unit: str, budget: int) -> list[str]:
    """A unit bigger than the budget: by sentences, then lines, then words."""
    for splitter in (_SENTENCE_END.split, str.splitlines):
        parts = [p for p in splitter(unit) if p.strip()]
        if len(parts) > 1:
            return pack(parts, budget, joiner=" " if splitter is not str.splitlines else "\n")
    words = unit.split()
    out: list[str] = []
    current: list[str] = []
    size = 0
    for word in words:
        cost = estimate_tokens(word)
        if current and size + cost > budget:
            out.append(" ".join(current))
            current, size = [], 0
        current.append(word)
        size += cost
    if current:
        out.append(" ".join(current))
    return out


def pack(units: list[str], budget: int, joiner: str = "\n\n") -> list[str]:
    """Greedily pack units, in order, into pieces of at most `budget` estimated tokens."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for unit in units:
        cost = estimate_tokens(unit)
        if cost > budget:
            if current:
                out.append(joiner.join(current))
                current, size = [], 0
            out.extend(_split_unit(unit, budget))
            continue
        if current and size + cost > budget:
            out.append(joiner.join(current))
            current, size = [], 0
        current.append(unit)
        size += cost
    if current:
        out.append(joiner.join(current))
    return [piece.strip() for piece in out if piece.strip()]


def split_to_budget(text: str, budget: int) -> list[str]:
    """Split text on paragraph boundaries into pieces that fit the budget."""
    return pack(_pieces(text), max(16, budget))
