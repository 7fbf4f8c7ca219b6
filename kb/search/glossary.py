"""The knowledge base's own glossary beside the dictionary: the term pairs its Chinese material
names in brackets (kb.language.mining), mined from the store's chunks, kept in step with the
store, and used before CC-CEDICT when a query crosses languages.

Mining reads every chunk once (about 1 s per 10k chunks here); it runs again, on a thread of
its own, when the store has changed and the glossary is older than `REMINE_AFTER_S`, so that
searches never wait for it after the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from kb.language.bilingual import glossary as dictionary
from kb.language.mining import MinedGlossary
from kb.store.base import DocumentStore

REMINE_AFTER_S = 30.0


def chunk_texts(store: DocumentStore) -> Iterator[tuple[str, str]]:
    """(source, heading + body) of every chunk in the store."""
    for doc in store.list_documents():
        for chunk in store.get_chunks(doc.doc_id):
            yield doc.source, f"{chunk.heading}\n{chunk.body}"


class StoreGlossary:
    """The mined pairs of one store, then the dictionary; thread-safe."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._mined: MinedGlossary | None = None
        self._mined_at = (-1, 0.0)  # (store version, when)
        self._mining = False

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

    def translate(self, query: str, language: str) -> list[str]:
        """The query's words in the other language: the store's own terms first, then the
        dictionary's words for the whole query (a mined term's words may mean more than the
        term: 神经网络 is still "neural network" when a chapter named a network after it)."""
        mined = self.mined()
        found, _ = mined.english_in(query) if language == "zh" else mined.chinese_in(query)
        words = [word for term in found for word in term.split()]
        return list(dict.fromkeys(words + dictionary().translate(query, language)))


__all__ = ["REMINE_AFTER_S", "StoreGlossary", "chunk_texts"]
