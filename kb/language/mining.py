"""Term pairs mined from the programme's own material: Chinese technical writing names a term
with its English in brackets (`卷积神经网络（convolutional neural network，CNN）`,
`*过拟合*（overfitting）`), and mixed write-ups put an English term beside its Chinese
(`dropout（暂退法）`). Those pairs are the glossary a dictionary lacks: the field's terms, as
this programme writes them.

`mine_pairs(text)` finds the pairs of one text; `MinedGlossary` counts them over a store's
chunks (a pair that recurs is more likely right) and answers the two lookups search needs.
Precision was checked by hand on the shared Chinese corpus (docs/chinese.md).
"""

from __future__ import annotations

import copy
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kb.language.terms import HAN, ZH_STOPWORDS, fold, spans

# Words that introduce a term rather than belong to it: "这种现象称为过拟合（overfitting）".
_CUES = frozenset(
    "称为 称之为 被称为 叫做 叫 即 也称 又称 简称 所谓 就是 也就是 使用 采用 利用 通过 基于 "
    "包括 例如 比如 如 一个 一种 这种 这个 该 此 各 每个 所有 不同 常见 常用 定义 引入 提出 "
    "介绍 讨论 称 由 用 将 当 而是 以及 其中 我们 一 个 种 类 许多 很多 设置 稍后 提供 "
    "图片 如下 如图 下面 上面 见 参见 所示 得到 进行 表示 叫作 称作 记为 记作".split()
)
MAX_ZH_CHARS = 10  # a term is a few words, not a clause
MAX_ZH_WORDS = 4
MAX_EN_WORDS = 6
# Chinese, optionally emphasised (*term* or **term**), then English in full- or half-width
# brackets: "…称为*过拟合*（overfitting）", "展平层（flatten）".
_ZH_THEN_EN = re.compile(
    rf"(?:(?P<em>\*{{1,2}}|_)(?P<emzh>[{HAN}]+)(?P=em)|(?P<zh>[{HAN}]+))"
    r"\s*[（(]\s*(?P<en>[A-Za-z][^（）()\n]{0,80}?)\s*[）)]"
)
# English, then its Chinese in brackets: "dropout（暂退法）", "Transformer (变换器)".
_EN_THEN_ZH = re.compile(
    rf"(?P<en>[A-Za-z][A-Za-z0-9\-]*(?:[ \-][A-Za-z][A-Za-z0-9\-]*){{0,4}})\s*[（(]\s*"
    rf"(?P<zh>[{HAN}]{{2,{MAX_ZH_CHARS}}})\s*[）)]"
)
_EN_PART = re.compile(r"[A-Za-z][A-Za-z0-9\-']*(?: [A-Za-z][A-Za-z0-9\-']*)*")
_SEPARATORS = re.compile(r"[,，;；、/]|\bor\b")


@dataclass(frozen=True)
class TermPair:
    """A Chinese term and its English, as the text gives them (Chinese folded to simplified)."""

    chinese: str
    english: str


def _chinese_term(run: str) -> str | None:
    """The term at the end of a run of Chinese: its last words, back to a cue or a stop word."""
    words = [word for _, _, word in spans(run)]
    kept: list[str] = []
    for word in reversed(words):
        if word in _CUES or (word in ZH_STOPWORDS and kept):
            break
        if sum(map(len, kept)) + len(word) > MAX_ZH_CHARS or len(kept) == MAX_ZH_WORDS:
            break
        kept.insert(0, word)
    term = "".join(kept)
    return term if len(term) >= 2 and term not in ZH_STOPWORDS else None


def _english_terms(inside: str) -> list[str]:
    """The English names in a bracket: "convolutional neural network，CNN" gives both; code,
    formulas and sentences give none."""
    if any(mark in inside for mark in "=_[]{}<>$\\`:") or re.search(r"\d{3,}", inside):
        return []
    parts = _SEPARATORS.split(inside)
    if len(parts) > 2:  # a name and its abbreviation at most; more is a list or a tuple
        return []
    found: list[str] = []
    for part in parts:
        part = part.strip().strip(".'\"")
        match = _EN_PART.fullmatch(part)
        if match is None:
            continue
        words = part.split()
        if not 1 <= len(words) <= MAX_EN_WORDS or (len(words) == 1 and len(part) < 2):
            continue
        found.append(part)
    return found


def mine_pairs(text: str) -> list[TermPair]:
    """Every (Chinese, English) pair a text names in brackets, in the order it names them."""
    if "（" not in text and "(" not in text:
        return []
    pairs: list[TermPair] = []
    for match in _ZH_THEN_EN.finditer(text):
        chinese = match.group("emzh")
        if chinese is None:
            chinese = _chinese_term(match.group("zh"))
        elif not 2 <= len(chinese) <= MAX_ZH_CHARS:
            chinese = None
        if chinese is None:
            continue
        simplified = fold(chinese)
        pairs += [TermPair(simplified, english) for english in _english_terms(match.group("en"))]
    for match in _EN_THEN_ZH.finditer(text):
        english = match.group("en").strip()
        if english.lower() in {"i", "a", "an", "the", "or", "and", "of", "in", "to", "is"}:
            continue
        pairs.append(TermPair(fold(match.group("zh")), english))
    return pairs


@dataclass(frozen=True)
class MinedPair:
    """A pair with how often it was found and the documents it was found in (a few)."""

    chinese: str
    english: str
    count: int
    sources: tuple[str, ...]


MAX_SOURCES = 3
# A Chinese term mined with more English names than this (a full name and an abbreviation,
# or two spellings) is a generic word that several terms end in, not a term.
MAX_MEANINGS = 2


class MinedGlossary:
    """The pairs of a body of text, counted: Chinese -> English and English -> Chinese, the
    commonest first. A pair found once is kept (a glossary of one chapter is still right), but
    a Chinese term's English counted far below its commonest is dropped as a misreading."""

    def __init__(self, texts: Iterable[tuple[str, str]]) -> None:
        """`texts`: (source, text) of every chunk to read."""
        counts: Counter[TermPair] = Counter()
        seen_in: dict[TermPair, list[str]] = defaultdict(list)
        spelled: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for source, text in texts:
            for pair in mine_pairs(text):
                key = TermPair(pair.chinese, pair.english.lower())
                counts[key] += 1
                spelled[(key.chinese, key.english)][pair.english] += 1
                where = seen_in[key]
                if source not in where and len(where) < MAX_SOURCES:
                    where.append(source)
        by_chinese: dict[str, list[MinedPair]] = defaultdict(list)
        for key, count in counts.items():
            shown = spelled[(key.chinese, key.english)].most_common(1)[0][0]
            by_chinese[key.chinese].append(
                MinedPair(key.chinese, shown, count, tuple(seen_in[key]))
            )
        self.pairs: list[MinedPair] = []
        for found in by_chinese.values():
            found.sort(key=lambda p: (-p.count, p.english.lower()))
            top = found[0].count
            kept = [p for p in found if p.count * 4 >= top]
            if len(kept) > MAX_MEANINGS:  # 网络 for VGG, NiN and GoogLeNet: a word, no term
                continue
            self.pairs += kept
        self.pairs.sort(key=lambda p: (-p.count, p.chinese, p.english.lower()))
        self._index()

    def _index(self) -> None:
        self._english: dict[str, list[str]] = defaultdict(list)
        self._chinese: dict[str, list[str]] = defaultdict(list)
        for mined in self.pairs:
            self._english[mined.chinese].append(mined.english.lower())
            self._chinese[mined.english.lower()].append(mined.chinese)

    def __len__(self) -> int:
        return len(self.pairs)

    def restricted(self, keep: Callable[[MinedPair], bool]) -> MinedGlossary:
        """The same glossary with only the pairs `keep` accepts (the organisers' glossary
        takes out the pairs it blocks or defines otherwise), without mining again."""
        narrowed = copy.copy(self)
        narrowed.pairs = [pair for pair in self.pairs if keep(pair)]
        narrowed._index()
        return narrowed

    def english_in(self, query: str) -> tuple[list[str], str]:
        """English for the mined Chinese terms inside a (folded) Chinese query, longest terms
        first (a term inside a longer one found is not looked up again), and the query with
        those terms taken out."""
        found: list[str] = []
        rest = fold(query)
        for term in sorted(self._english, key=len, reverse=True):
            if term in rest:
                found += self._english[term]
                rest = rest.replace(term, " ")
        return found, rest

    def chinese_in(self, query: str) -> tuple[list[str], str]:
        """Chinese for the mined English terms inside an English query (whole words, case and
        a plural -s aside), longest first, and the query with those terms taken out."""
        found: list[str] = []
        rest = " " + query.lower() + " "
        for term in sorted(self._chinese, key=len, reverse=True):
            pattern = re.compile(rf"(?<![a-z0-9]){re.escape(term)}s?(?![a-z0-9])")
            if pattern.search(rest):
                found += self._chinese[term]
                rest = pattern.sub(" ", rest)
        return found, rest.strip()


__all__ = ["MinedGlossary", "MinedPair", "TermPair", "mine_pairs"]
