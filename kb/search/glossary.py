"""The knowledge base's own glossary beside the dictionary, as search uses it when a query
crosses languages: first the organisers' glossary (`glossary.yaml`, kb.language.organisers),
kept in the store so that every replica reads the same; then the term pairs the store's Chinese
material names in brackets (kb.language.mining), mined from its chunks and kept in step with
it; then CC-CEDICT. A term the organisers define is translated with their names alone, and a
pair they block is never used, whichever source offers it.

Mining reads every chunk once (about 1 s per 10k chunks here); it runs again, on a thread of
its own, when the store has changed and the glossary is older than `REMINE_AFTER_S`, so that
searches never wait for it after the first. The organisers' glossary is read from the store
at most every `ORGANISERS_CHECK_S` (at once after a change made through this object), so a
`kb glossary load` in another process reaches a running server within seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from kb.language.bilingual import glossary as dictionary
from kb.language.mining import MinedGlossary, MinedPair
from kb.language.organisers import GlossaryInvalidError, OrganiserGlossary
from kb.language.terms import fold
from kb.store.base import ORGANISERS_KEY, DocumentStore

REMINE_AFTER_S = 30.0
ORGANISERS_CHECK_S = 2.0
log = logging.getLogger("kb.glossary")


def stored_organisers(store: DocumentStore) -> OrganiserGlossary | None:
    """The organisers' glossary kept in `store`, if any (one that no longer reads is logged
    and ignored: search goes on without it; `kb glossary load` replaces it)."""
    return _parse(store.get_meta(ORGANISERS_KEY))


def _parse(text: str | None) -> OrganiserGlossary | None:
    if text is None:
        return None
    try:
        return OrganiserGlossary.from_json(text)
    except GlossaryInvalidError as exc:
        log.warning("the stored organisers' glossary is ignored: %s", exc)
        return None


def store_organisers(store: DocumentStore, organisers: OrganiserGlossary | None) -> None:
    """Keep `organisers` in `store` for every process that searches it (None removes it)."""
    store.set_meta(ORGANISERS_KEY, None if organisers is None else organisers.to_json())


@dataclass(frozen=True)
class CatalogGlossary:
    """What loading a catalogue did to the organisers' glossary: `action` "loaded" (the
    catalogue's replaced the stored one), "removed" (an earlier catalogue's, gone with its
    file), "kept" (one `kb glossary load` stored, which no catalogue defines) or "none"; and
    that glossary's source, origin and size (None for "none")."""

    action: str
    source: str | None = None
    loaded_from: str | None = None
    terms: int | None = None
    blocked: int | None = None

    @classmethod
    def of(cls, action: str, organisers: OrganiserGlossary) -> CatalogGlossary:
        sizes = (len(organisers.terms), len(organisers.blocked))
        return cls(action, organisers.source, organisers.loaded_from, *sizes)


def load_catalog_glossary(
    store: DocumentStore, organisers: OrganiserGlossary | None
) -> CatalogGlossary:
    """After a catalogue loaded, with `organisers` its glossary (None: it has none). A
    catalogue replaces what it defines: its glossary replaces the stored one, and a catalogue
    without one removes the glossary an earlier catalogue brought, but keeps one loaded by
    hand (`kb glossary load`), which no catalogue ever defined."""
    if organisers is not None:
        store_organisers(store, organisers)
        return CatalogGlossary.of("loaded", organisers)
    current = stored_organisers(store)
    if current is None:
        return CatalogGlossary("none")
    if current.loaded_from == "catalog":
        store_organisers(store, None)
        return CatalogGlossary.of("removed", current)
    return CatalogGlossary.of("kept", current)


@dataclass(frozen=True)
class GlossaryEntry:
    """One pair as `kb glossary` lists it: `source` "organisers" or "mined"; `count` and
    `sources` as mined (for the organisers' pairs: how often the material names the same pair,
    and their file); `used` False for a mined pair the organisers block, define otherwise or
    list themselves, `because` saying which ("blocked", "organisers define this term",
    "listed by the organisers")."""

    chinese: str
    english: str
    count: int
    sources: tuple[str, ...]
    source: str
    used: bool = True
    because: str | None = None


def chunk_texts(store: DocumentStore) -> Iterator[tuple[str, str]]:
    """(source, heading + body) of every chunk in the store."""
    for doc in store.list_documents():
        for chunk in store.get_chunks(doc.doc_id):
            yield doc.source, f"{chunk.heading}\n{chunk.body}"


class StoreGlossary:
    """The organisers' pairs of one store, then its mined pairs, then the dictionary;
    thread-safe."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._mined: MinedGlossary | None = None
        self._mined_at = (-1, 0.0)  # (store version, when)
        self._mining = False
        self._organisers: OrganiserGlossary | None = None
        self._organisers_text: str | None = None
        self._organisers_checked = -math.inf
        # the mined pairs the organisers leave in use, for (mined glossary, organisers' text)
        self._in_use: tuple[MinedGlossary, str | None, MinedGlossary] | None = None

    def mined(self) -> MinedGlossary:
        """The pairs as of the latest mining; the first call mines, later ones start a new
        mining in the background when the store changed (and answer from the last)."""
        version = self.store.version
        with self._lock:
            current = self._mined
            stale = version != self._mined_at[0]
            due = time.monotonic() - self._mined_at[1] >= REMINE_AFTER_S
            start = current is not None and stale and due and not self._mining
            if start:
                self._mining = True
        if current is None:
            return self._mine(version)
        if start:
            threading.Thread(target=self._mine, args=(version,), daemon=True).start()
        return current

    def _mine(self, version: int) -> MinedGlossary:
        try:
            mined = MinedGlossary(chunk_texts(self.store))
            with self._lock:
                self._mined, self._mined_at = mined, (version, time.monotonic())
            return mined
        finally:
            with self._lock:
                self._mining = False

    # -- the organisers' glossary -------------------------------------------------------------
    def organisers(self) -> OrganiserGlossary | None:
        """The organisers' glossary kept in the store, read again at most every
        `ORGANISERS_CHECK_S` (a change made through `set_organisers` at once)."""
        now = time.monotonic()
        with self._lock:
            if now - self._organisers_checked < ORGANISERS_CHECK_S:
                return self._organisers
            self._organisers_checked = now
        text = self.store.get_meta(ORGANISERS_KEY)
        with self._lock:
            if text != self._organisers_text:
                self._organisers_text = text
                self._organisers = _parse(text)
            return self._organisers

    def set_organisers(self, organisers: OrganiserGlossary | None) -> None:
        """Keep `organisers` in the store (None removes it) and use it from the next query."""
        store_organisers(self.store, organisers)
        self.forget_organisers()

    def forget_organisers(self) -> None:
        """Read the stored organisers' glossary again at the next query."""
        with self._lock:
            self._organisers_checked = -math.inf

    def mined_in_use(self) -> MinedGlossary:
        """The mined pairs search uses: those the organisers neither block nor define."""
        mined, organisers = self.mined(), self.organisers()
        if organisers is None:
            return mined
        with self._lock:
            cached = self._in_use
            text = self._organisers_text
        if cached is not None and cached[0] is mined and cached[1] == text:
            return cached[2]
        in_use = mined.restricted(lambda p: _unused_because(p, organisers) is None)
        with self._lock:
            self._in_use = (mined, text, in_use)
        return in_use

    # -- what search asks ---------------------------------------------------------------------
    def terms_in(self, query: str, language: str) -> list[str]:
        """The query's words in the other language from named terms alone: the organisers'
        and the mined terms, and for an English query the dictionary's entries for phrases
        of two words or more (time series -> 时间序列, binary tree -> 二叉树), but not the
        dictionary's senses of single words (give -> 附送, joint -> 骨头节儿), which for an
        English query match Chinese text at random (kb.search.fusion's Chinese stand-in)."""
        organisers = self.organisers()
        chosen: list[str] = []
        rest = query
        if organisers is not None:
            chosen, rest = (
                organisers.english_in(query) if language == "zh" else organisers.chinese_in(query)
            )
        mined = self.mined_in_use()
        found, _ = mined.english_in(rest) if language == "zh" else mined.chinese_in(rest)
        words = [word for term in chosen + found for word in term.split()]
        if language == "en":
            words += [
                chinese
                for english, chinese in dictionary().pairs_in(rest, language)
                if " " in english
                and (organisers is None or not _blocked_word(chinese, english, organisers))
            ]
        return list(dict.fromkeys(words))

    def translate(self, query: str, language: str) -> list[str]:
        """The query's words in the other language: the organisers' terms first (only their
        names for those), then the store's mined terms, then the dictionary's words for the
        rest of the query (a mined term's words may mean more than the term: 神经网络 is
        still "neural network" when a chapter named a network after it); no blocked pair."""
        organisers = self.organisers()
        mined = self.mined_in_use()
        chosen: list[str] = []
        rest = query
        if organisers is not None:
            chosen, rest = (
                organisers.english_in(query) if language == "zh" else organisers.chinese_in(query)
            )
        found, _ = mined.english_in(rest) if language == "zh" else mined.chinese_in(rest)
        words = [word for term in chosen + found for word in term.split()]
        if organisers is None:
            looked_up = dictionary().translate(query, language)
        else:
            pairs = dictionary().pairs_in(rest if chosen else query, language)
            looked_up = [
                word
                for term, word in pairs
                if not _blocked_word(
                    *((term, word) if language == "zh" else (word, term)), organisers
                )
            ]
        return list(dict.fromkeys(words + looked_up))

    def entries(self) -> list[GlossaryEntry]:
        """Every pair, as `kb glossary` lists it: the organisers' first (in their file's
        order), then the mined ones (the commonest first), each saying whether search uses
        it."""
        mined, organisers = self.mined(), self.organisers()
        listed: list[GlossaryEntry] = []
        if organisers is not None:
            found = {(p.chinese, p.english.lower()): p for p in mined.pairs}
            for term in organisers.terms:
                for name in term.english:
                    same = found.get((fold(term.chinese), name.lower()))
                    count = same.count if same is not None else 0
                    where = (organisers.source,)
                    listed.append(GlossaryEntry(term.chinese, name, count, where, "organisers"))
        for pair in mined.pairs:
            because = None if organisers is None else _unused_because(pair, organisers)
            listed.append(
                GlossaryEntry(
                    pair.chinese,
                    pair.english,
                    pair.count,
                    pair.sources,
                    "mined",
                    because is None,
                    because,
                )
            )
        return listed


def _unused_because(pair: MinedPair, organisers: OrganiserGlossary) -> str | None:
    """Why the organisers' glossary keeps a mined pair out of search, if it does."""
    if organisers.blocks(pair.chinese, pair.english):
        return "blocked"
    if organisers.has(pair.chinese, pair.english):
        return "listed by the organisers"
    if organisers.defines(pair.chinese, pair.english):
        return "organisers define this term"
    return None


def _blocked_word(chinese: str, english: str, organisers: OrganiserGlossary) -> bool:
    """Whether the dictionary's pair of a Chinese word and an English word (or phrase) is
    blocked: the English is a blocked name of that Chinese, or one of a blocked name's words."""
    names = organisers.blocked_english(fold(chinese))
    if not names:
        return False
    english = english.lower()
    return english in names or any(english in name.split() for name in names)


__all__ = [
    "ORGANISERS_CHECK_S",
    "ORGANISERS_KEY",
    "REMINE_AFTER_S",
    "CatalogGlossary",
    "GlossaryEntry",
    "StoreGlossary",
    "chunk_texts",
    "load_catalog_glossary",
    "store_organisers",
    "stored_organisers",
]
