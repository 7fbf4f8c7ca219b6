"""Free-text comments grouped by theme: embedded with the knowledge base's own model,
clustered with scikit-learn, each group labelled by its commonest words.

The number of groups is the one whose clustering separates best (the highest silhouette,
cosine), tried from 2 up to `MAX_THEMES`; when no split separates better than
`MIN_SILHOUETTE`, or there is a single comment, all comments form one group. Agglomerative
clustering (average linkage) needs no random start, so the same comments always give the
same groups.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.language.terms import STOPWORDS, ZH_STOPWORDS, fold, spans

Encode = Callable[[Sequence[str]], np.ndarray]

MAX_THEMES = 6
MIN_SILHOUETTE = 0.05
LABEL_WORDS = 3
# Two comments are one theme when their cosine similarity is at least this.
PAIR_SIMILARITY = 0.5
# Words that say how, not what, in comments about a training: this domain's filler, left out
# of theme labels beside the stop words (kb.language.terms.STOPWORDS, the one list); not stop
# words themselves, as search must still find "session" or "module".
_COMMENT_FILLER = frozenset(
    "really very quite bit lot lots much more less also just would could should bit "
    "maybe felt feel think thing things good great nice well better best like liked "
    "need needed want wanted make made get got way time session sessions training course "
    "module day days use used using went part parts please help helps".split()
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Theme:
    """A group of comments about one thing; `label` is its commonest words."""

    label: str
    words: tuple[str, ...]
    comments: tuple[str, ...]


def _stopwords() -> frozenset[str]:
    """What a theme's label leaves out: the stop words of both languages and the filler."""
    return STOPWORDS | ZH_STOPWORDS | _COMMENT_FILLER


def comment_words(text: str, stopwords: frozenset[str]) -> list[str]:
    """Content words of a comment, lower case, Chinese cut into words (jieba)."""
    out = []
    for _, _, word in spans(fold(text)):
        word = word.lower()
        if word in stopwords or not _LETTER.search(word):
            continue
        if word.isascii() and len(word) < 3:
            continue
        if not word.isascii() and len(word) < 2:
            continue
        out.append(word)
    return out


def label_of(comments: Sequence[str], stopwords: frozenset[str]) -> tuple[str, ...]:
    """The group's commonest words (in how many comments each occurs, then how often, then
    first appearance), at most `LABEL_WORDS`."""
    in_comments: Counter[str] = Counter()
    total: Counter[str] = Counter()
    first: dict[str, int] = {}
    for comment in comments:
        words = comment_words(comment, stopwords)
        total.update(words)
        in_comments.update(set(words))
        for word in words:
            first.setdefault(word, len(first))
    ranked = sorted(total, key=lambda w: (-in_comments[w], -total[w], first[w]))
    return tuple(ranked[:LABEL_WORDS])


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float64)


def cluster(vectors: np.ndarray) -> list[int]:
    """A group number per row of `vectors` (see the module's docstring for how many)."""
    n = len(vectors)
    if n <= 1:
        return [0] * n
    unit = _normalised(vectors)
    if n == 2:
        similar = float(unit[0] @ unit[1]) >= PAIR_SIMILARITY
        return [0, 0] if similar else [0, 1]
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    if len({tuple(np.round(row, 6)) for row in unit}) < 3:  # too few distinct comments to split
        return [0] * n
    best: tuple[float, list[int]] = (MIN_SILHOUETTE, [0] * n)
    for k in range(2, min(MAX_THEMES, n - 1) + 1):
        model = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average")
        labels = [int(x) for x in model.fit_predict(unit)]
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(unit, labels, metric="cosine"))
        if score > best[0] + 1e-9:
            best = (score, labels)
    return best[1]


def group_comments(comments: Sequence[str], encode: Encode | None) -> list[Theme]:
    """Comments grouped by theme, largest group first; without `encode` (no model at hand)
    every comment is in one group."""
    texts = [c for c in comments if c.strip()]
    if not texts:
        return []
    stopwords = _stopwords()
    labels = cluster(encode(texts)) if encode is not None and len(texts) > 1 else [0] * len(texts)
    groups: dict[int, list[str]] = {}
    for label, text in zip(labels, texts, strict=True):
        groups.setdefault(label, []).append(text)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), texts.index(g[0])))
    themes = []
    for group in ordered:
        words = label_of(group, stopwords)
        themes.append(
            Theme(label=", ".join(words) or group[0][:40], words=words, comments=tuple(group))
        )
    return themes
