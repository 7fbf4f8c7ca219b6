"""Proposing, for each catalogue skill, the framework skills it most likely is.

Two signals, each 0..1, combined as `LABEL_WEIGHT * label + (1 - LABEL_WEIGHT) * embedding`:

- label similarity: the catalogue skill's name (and its id read as words) against every
  preferred and alternative label of a framework skill, in every language both sides have.
  Latin text is compared as sets of light stems (case, accents, -ise/-ize, plural and -ing
  forms and filler verbs such as "perform" or "use" set aside) blended with character
  trigrams; Chinese text by character bigrams. The best label wins and is reported.
- embedding similarity: the cosine between the catalogue skill's name, category and
  description and the framework skill's label, alternative labels and description, by the
  knowledge base's own embedder (any `kb.Embedder`); left out (the label alone decides)
  without one.

Measured (docs/frameworks.md, tests/recommender/test_framework_matching.py): on the 18
hand-labelled skills of the sample and small catalogues against tests/fixtures/frameworks,
the right skill first for 11/11 of the tuning half and 7/7 of the held-out half (label alone:
9/11 and 6/7). `LABEL_WEIGHT` 0.5 was the default before measuring and stayed.

Why both: labels catch the cases where a framework says exactly what we say ("prompt
engineering" as an alternative label) and embeddings the ones where it says it differently
("model serving" and "deploy machine learning models"). Organisers approve or edit; the
proposal is never applied by itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kb import Embedder
from recommender.frameworks.types import Candidate, Concept, Framework, Proposal

LABEL_WEIGHT = 0.5
TOP = 3
_STOP = frozenset(
    "a an and the of for in on to with by from into perform use utilise utilize apply conduct "
    "carry out do".split()
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class SkillText:
    """What the matcher knows of a catalogue skill: its id, its names by language and its
    description."""

    id: str
    labels: Mapping[str, str]
    description: str = ""
    category: str = ""


def language_of(text: str) -> str:
    """'zh' for text with Chinese characters, else 'en' (the two the catalogue speaks)."""
    return "zh" if _CJK.search(text) else "en"


def _stem(word: str) -> str:
    word = word.replace("optimiz", "optimis").replace("modeling", "modelling")
    for suffix in (
        "isation",
        "ization",
        "ation",
        "ising",
        "izing",
        "ings",
        "ing",
        "ers",
        "er",
        "es",
        "s",
        "e",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def normalise(text: str) -> str:
    """Lower case, accents and punctuation gone, words single-spaced (ids' hyphens too)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(_WORD.findall(text))


def _stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in normalise(text).split() if w not in _STOP)


def _grams(text: str, n: int) -> frozenset[str]:
    compact = normalise(text).replace(" ", "" if n == 2 else " ")
    padded = f" {compact} " if n == 3 else compact
    return frozenset(padded[i : i + n] for i in range(max(len(padded) - n + 1, 1)))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


@dataclass(frozen=True)
class _Features:
    normal: str
    chinese: bool
    stems: frozenset[str]
    bigrams: frozenset[str]
    trigrams: frozenset[str]


@lru_cache(maxsize=65536)
def _features(text: str) -> _Features:
    """A label's features, computed once: a framework's labels meet every catalogue skill."""
    return _Features(
        normalise(text), language_of(text) == "zh", _stems(text), _grams(text, 2), _grams(text, 3)
    )


def label_similarity(a: str, b: str) -> float:
    """0..1: how alike two labels are (see the module's docstring)."""
    if not a.strip() or not b.strip():
        return 0.0
    fa, fb = _features(a), _features(b)
    if fa.normal == fb.normal:
        return 1.0
    if fa.chinese or fb.chinese:
        return _dice(fa.bigrams, fb.bigrams)
    return 0.6 * _dice(fa.stems, fb.stems) + 0.4 * _dice(fa.trigrams, fb.trigrams)


def _concept_labels(concept: Concept) -> list[tuple[str, str]]:
    pairs = [(lang, label) for lang, label in concept.labels.items()]
    pairs += [(lang, alt) for lang, alts in concept.alt_labels.items() for alt in alts]
    return pairs


def _best_label(skill: SkillText, concept: Concept) -> tuple[float, str]:
    best, matched = 0.0, concept.label()
    names = [*skill.labels.values(), skill.id.replace("-", " ").replace("_", " ")]
    for _, label in _concept_labels(concept):
        for name in names:
            score = label_similarity(name, label)
            if score > best:
                best, matched = score, label
    return best, matched


def _skill_text(skill: SkillText) -> str:
    name = skill.labels.get("en") or next(iter(skill.labels.values()), skill.id)
    head = f"{name} ({skill.category})" if skill.category else name
    return f"{head}: {skill.description}" if skill.description else head


def _concept_text(concept: Concept) -> str:
    alts = concept.alt_labels.get("en", ())
    head = concept.label("en") + (f" ({', '.join(alts)})" if alts else "")
    return f"{head}: {concept.description}" if concept.description else head


def propose(
    skills: Sequence[SkillText],
    framework: Framework,
    embedder: Embedder | None,
    *,
    top: int = TOP,
    label_weight: float = LABEL_WEIGHT,
) -> list[Proposal]:
    """For each of `skills`, the `top` framework skills (groups are never proposed) by the
    combined score, best first; ties go to the framework's file order."""
    concepts = framework.skills
    if not skills or not concepts:
        return [Proposal(s.id, ()) for s in skills]
    dense = np.zeros((len(skills), len(concepts)), dtype=np.float32)
    weight = label_weight
    if embedder is not None:
        left = embedder.encode_documents([_skill_text(s) for s in skills])
        right = embedder.encode_documents([_concept_text(c) for c in concepts])
        dense = np.clip(np.asarray(left) @ np.asarray(right).T, 0.0, 1.0)
    else:
        weight = 1.0
    proposals = []
    for i, skill in enumerate(skills):
        scored = []
        for j, concept in enumerate(concepts):
            lexical, matched = _best_label(skill, concept)
            emb = float(dense[i, j])
            combined = weight * lexical + (1 - weight) * emb
            scored.append((-combined, j, Candidate(concept.id, combined, lexical, emb, matched)))
        scored.sort(key=lambda item: (item[0], item[1]))
        proposals.append(Proposal(skill.id, tuple(c for _, _, c in scored[:top])))
    return proposals
