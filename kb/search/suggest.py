"""Suggestions as you type, and "did you mean" for a search that found nothing good.

A `Suggester` is built once from named entries (glossary terms, skills, course and module
names, document titles, past successful queries) and answers `suggest(prefix)` from a sorted
list of keys with `bisect`: every entry is reached by the start of its text, by the start of
each of its words ("tun" finds "Fine-tuning"), and a Chinese entry also by its pinyin without
tones and by the pinyin's initials ("guoni" and "gnh" find 过拟合). Keys and prefixes are
folded alike (NFKC, traditional Chinese to simplified, case folded, hyphens, underscores and
slashes read as spaces), so ＬｏＲＡ, lora and LoRA meet. A key's score is fixed when it is
built (its kind's weight, how often the entry was seen, how it matched), so that an answer is a
bisect and a partial sort of the keys in range (NumPy), whatever the number of entries: 100k
chunks' worth answer in well under a millisecond (bench/suggest_latency.py).

`did_you_mean(query)` corrects the English words of a query against the words of the store's
titles, headings, terms, skills and names (SymSpell: the nearest word within one or two edits,
the commonest among equals), and reads a query typed in pinyin as the Chinese term it spells
("guonihe" -> 过拟合). It answers None when nothing is close.

Visibility: an entry may be restricted to teams (a title of a restricted document, a term found
only in restricted documents); `suggest` leaves it out for callers outside them. "Did you mean"
only ever offers words of entries everyone may see.

`SuggestIndex` keeps the current suggester of a service and builds the next one on a thread of
its own when the store has changed (or the catalogue and the search log may have), so that no
request waits for a build.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

import numpy as np

from kb.language.terms import HAN_RUN, fold, has_han, spans
from kb.search.quality import found_something_good
from kb.types import visible_to

log = logging.getLogger("kb.suggest")

Kind = Literal["term", "skill", "course", "module", "title", "query"]
Matched = Literal["prefix", "word", "pinyin", "initials"]
KINDS: tuple[Kind, ...] = ("term", "skill", "course", "module", "title", "query")

# What an entry is worth by its kind: the programme's own vocabulary first (terms and skills),
# then what it teaches (courses, modules), then titles, then what others searched.
KIND_WEIGHTS: Mapping[str, float] = {
    "term": 3.0,
    "skill": 3.0,
    "course": 2.5,
    "module": 2.5,
    "title": 2.0,
    "query": 1.5,
}
# How a key matched: the start of the text beats the start of a later word; a pinyin spelling
# is nearly as good as the text, its initials are a guess.
MATCH_BONUS: Mapping[str, float] = {"prefix": 1.0, "word": 0.4, "pinyin": 0.8, "initials": 0.3}
_MATCHED: tuple[Matched, ...] = ("prefix", "word", "pinyin", "initials")
MAX_PREFIX = 200  # characters of a prefix looked at (the HTTP edge refuses longer ones)
MAX_TEXT = 120  # an entry longer than this is cut for its keys (a title, not a chapter)
PINYIN_VARIANTS = 3  # extra readings of a polyphonic character (调: diao, tiao) per entry
MIN_QUERY_SEARCHES = 2  # a past query is suggested once it succeeded at least this often

_SEPARATORS = re.compile(r"[\s\-_/]+")
_ENGLISH_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")
_PINYIN_QUERY = re.compile(r"[a-z ]+")


def normalise(text: str) -> str:
    """Text as keys and prefixes are compared: NFKC, traditional Chinese folded to simplified,
    case folded, runs of spaces, hyphens, underscores and slashes as one space; a trailing
    separator is kept as a space, so that "fine " asks for a word after "fine"."""
    folded = _SEPARATORS.sub(" ", fold(text).casefold())
    return folded.lstrip()


@dataclass(frozen=True)
class Entry:
    """Something worth suggesting. `weight`: how often it was seen (a term's mentions, a query's
    successful searches; 1 for a name); `visibility`: the teams that may see it, empty for
    everyone (as a document's)."""

    text: str
    kind: Kind
    weight: float = 1.0
    visibility: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """One completion: the entry's text as written, its kind, and how the prefix met it."""

    text: str
    kind: Kind
    matched: Matched


@cache
def _pinyin() -> Any:
    """pypinyin's converter, imported on the first Chinese entry (its dictionary ~0.3 s)."""
    import pypinyin

    return pypinyin


def _readings(run: str) -> list[list[str]]:
    """The pinyin readings of a run of Chinese: the likeliest reading of the whole (pypinyin's
    phrases first), then a few with one polyphonic character read otherwise (微调: weidiao, and
    weitiao)."""
    pypinyin = _pinyin()
    base = [s.lower() for s in pypinyin.lazy_pinyin(run, style=pypinyin.Style.NORMAL)]
    if len(base) != len(run):  # not one syllable per character: keep the likeliest alone
        return [base]
    readings = [base]
    each = pypinyin.pinyin(run, style=pypinyin.Style.NORMAL, heteronym=True)
    for i, options in enumerate(each):
        for option in options:
            if option.lower() != base[i] and len(readings) <= PINYIN_VARIANTS:
                readings.append(base[:i] + [option.lower()] + base[i + 1 :])
    return readings


def pinyin_keys(norm: str) -> list[tuple[str, Matched, bool]]:
    """(key, how, at the text's start) of a normalised text holding Chinese: its full pinyin
    without tones and its initials, from the start and from each word's start (jieba's words in
    Chinese, the other words as they are); spaces dropped, as people type pinyin."""
    words = [w for _, _, w in spans(norm)]
    keys: list[tuple[str, Matched, bool]] = []
    # each word as (syllables of each reading), so a polyphonic word adds its readings
    per_word: list[list[list[str]]] = []
    for word in words:
        per_word.append(_readings(word) if HAN_RUN.fullmatch(word) else [[word]])
    for start in range(len(per_word)):
        head, rest = per_word[start], per_word[start + 1 :]
        tail = [r[0] for r in rest]
        for reading in head:
            syllables = reading + [s for word in tail for s in word]
            keys.append(("".join(syllables), "pinyin", start == 0))
            keys.append(("".join(s[0] for s in syllables), "initials", start == 0))
    return keys


def entry_keys(entry: Entry) -> list[tuple[str, Matched]]:
    """Every key an entry is found by, with how it matches (see `Suggester`)."""
    norm = normalise(entry.text[:MAX_TEXT]).strip()
    if not norm:
        return []
    keys: list[tuple[str, Matched]] = [(norm, "prefix")]
    for start, _, _ in spans(norm):
        if start > 0:
            keys.append((norm[start:], "word"))
    if has_han(norm):
        keys += [(key, how) for key, how, _ in pinyin_keys(norm) if key]
    return list(dict.fromkeys(keys))


class Suggester:
    """Completions of a prefix over a fixed set of entries, and "did you mean" over their words.

    `entries`: what to suggest; entries with the same folded text are one suggestion (the
    best-scored is shown). `vocabulary`: more text whose words may correct a query but are not
    suggested themselves (headings); give only text that everyone may see.
    """

    def __init__(self, entries: Iterable[Entry], vocabulary: Iterable[str] = ()) -> None:
        self.entries: list[Entry] = []
        self._norms: list[str] = []
        rows: list[tuple[str, float, int, int]] = []  # (key, score, entry, how)
        words: Counter[str] = Counter()
        pinyin: dict[str, tuple[float, str]] = {}  # full pinyin -> (score, Chinese text)
        for entry in entries:
            keys = entry_keys(entry)
            if not keys:
                continue
            index = len(self.entries)
            self.entries.append(entry)
            self._norms.append(keys[0][0])
            base = (
                KIND_WEIGHTS.get(entry.kind, 1.0)
                + math.log1p(max(entry.weight, 0.0))
                - 0.002 * len(entry.text)  # the shorter first, among equals
            )
            for key, how in keys:
                rows.append((key, base + MATCH_BONUS[how], index, _MATCHED.index(how)))
            if not entry.visibility:  # only what everyone may see corrects a query
                words.update(_ENGLISH_WORD.findall(keys[0][0]))
                if has_han(entry.text):
                    for key, how, at_start in pinyin_keys(keys[0][0]):
                        if how == "pinyin" and at_start and len(key) >= 4:
                            if key not in pinyin or pinyin[key][0] < base:
                                pinyin[key] = (base, entry.text)
        for text in vocabulary:
            words.update(_ENGLISH_WORD.findall(normalise(text)))
        rows.sort(key=lambda row: row[0])
        self._keys = [row[0] for row in rows]
        self._scores = np.array([row[1] for row in rows], dtype=np.float32)
        self._entry_of = np.array([row[2] for row in rows], dtype=np.int32)
        self._how = np.array([row[3] for row in rows], dtype=np.int8)
        self.words = words
        self._pinyin = {key: text for key, (_, text) in pinyin.items()}
        self._speller: Any = None
        self._pinyin_speller: Any = None
        if words or pinyin:
            self._speller, self._pinyin_speller = _spellers(words, self._pinyin)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def keys(self) -> int:
        """How many keys the entries are found by."""
        return len(self._keys)

    def suggest(
        self, prefix: str, limit: int = 8, teams: tuple[str, ...] | None = None
    ) -> list[Suggestion]:
        """Up to `limit` entries the prefix starts (their text, a word of it, its pinyin or its
        initials), best first: kind, frequency, then how it matched; one per folded text, and
        only entries visible to `teams` (None: a trusted caller, who sees all). An empty or
        blank prefix has none."""
        wanted = normalise(prefix[:MAX_PREFIX])
        if not wanted.strip() or limit <= 0:
            return []
        lo = bisect_left(self._keys, wanted)
        hi = bisect_left(self._keys, wanted + "\U0010ffff", lo)
        if lo == hi:
            return []
        scores = self._scores[lo:hi]
        take = limit * 4
        while True:
            if take >= len(scores):
                order = np.argsort(-scores, kind="stable")
            else:
                top = np.argpartition(-scores, take)[:take]
                order = top[np.argsort(-scores[top], kind="stable")]
            found = self._walk(lo, order, limit, teams)
            if len(found) >= limit or take >= len(scores):
                return found
            take *= 4  # hidden or repeated entries used up the candidates: look further

    def _walk(
        self, lo: int, order: np.ndarray, limit: int, teams: tuple[str, ...] | None
    ) -> list[Suggestion]:
        found: list[Suggestion] = []
        seen: set[str] = set()
        for offset in order.tolist():
            index = int(self._entry_of[lo + offset])
            norm = self._norms[index]
            if norm in seen:
                continue
            entry = self.entries[index]
            if not visible_to(entry.visibility, teams):
                continue
            seen.add(norm)
            found.append(Suggestion(entry.text, entry.kind, _MATCHED[self._how[lo + offset]]))
            if len(found) == limit:
                break
        return found

    def did_you_mean(self, query: str) -> str | None:
        """The query as it was probably meant, or None when nothing is close: typed pinyin read
        as the Chinese term it spells (guonihe -> 过拟合), else each English word unknown to the
        store's words replaced by the nearest known one (one edit for words of up to five
        letters, two beyond), else pinyin one edit off a term's. A query already made of known
        words, or in Chinese, gets None."""
        text = normalise(query[:MAX_PREFIX]).strip()
        if not text or has_han(text) or self._speller is None:
            return None
        letters = text.replace(" ", "")
        typed_pinyin = _PINYIN_QUERY.fullmatch(text) is not None and len(letters) >= 4
        known = [w in self.words for w in _ENGLISH_WORD.findall(text)]
        if typed_pinyin and not all(known) and letters in self._pinyin:
            return self._pinyin[letters]
        corrected = self._correct_words(text)
        if corrected is not None:
            return corrected
        if typed_pinyin and not all(known) and len(letters) >= 5:
            from symspellpy import Verbosity

            near = self._pinyin_speller.lookup(letters, Verbosity.TOP, max_edit_distance=1)
            if near:
                return self._pinyin[near[0].term]
        return None

    def _correct_words(self, text: str) -> str | None:
        from symspellpy import Verbosity

        changed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal changed
            word = match.group()
            if len(word) < 3 or word in self.words:
                return word
            distance = 1 if len(word) <= 5 else 2
            near = self._speller.lookup(word, Verbosity.TOP, max_edit_distance=distance)
            if not near or near[0].term == word:
                return word
            changed = True
            return str(near[0].term)

        corrected = _ENGLISH_WORD.sub(replace, text)
        return corrected if changed else None


def _spellers(words: Mapping[str, int], pinyin: Mapping[str, str]) -> tuple[Any, Any]:
    """SymSpell over the English words (by count) and over the terms' pinyin."""
    from symspellpy import SymSpell

    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word, count in words.items():
        if len(word) >= 3:
            speller.create_dictionary_entry(word, count)
    pinyin_speller = SymSpell(max_dictionary_edit_distance=1, prefix_length=7)
    for key in pinyin:
        pinyin_speller.create_dictionary_entry(key, 1)
    return speller, pinyin_speller


EMPTY = Suggester(())


# -- what a store gives: titles, its mined terms, its headings, its successful queries ---------
@dataclass(frozen=True)
class StoreEntries:
    """What a store contributes: entries to suggest, and heading text for "did you mean"."""

    entries: list[Entry]
    vocabulary: list[str]


def store_entries(store: Any, glossary: Any | None = None, headings: bool = True) -> StoreEntries:
    """Titles of the store's documents (restricted as their documents are), the terms mined
    from its Chinese material (`kb.search.glossary.StoreGlossary`: a term is as visible as the
    documents it was found in), and the headings of documents everyone may see.

    `store`: a `kb.store.base.DocumentStore`; `glossary`: a `StoreGlossary` (or None)."""
    docs = store.list_documents()
    visibility = {doc.source: tuple(doc.visibility) for doc in docs}
    entries = [Entry(doc.title, "title", 1.0, tuple(doc.visibility)) for doc in docs if doc.title]
    if glossary is not None:
        for pair in glossary.mined().pairs:
            seen = [visibility[s] for s in pair.sources if s in visibility]
            if not seen:
                continue
            teams = () if any(not v for v in seen) else tuple(sorted({t for v in seen for t in v}))
            entries.append(Entry(pair.chinese, "term", pair.count, teams))
            entries.append(Entry(pair.english, "term", pair.count, teams))
    vocabulary: list[str] = []
    if headings:
        for doc in docs:
            if not doc.visibility:  # each heading once: a chunk's path ends in its own
                heads = {c.heading.rsplit(" > ", 1)[-1] for c in store.get_chunks(doc.doc_id)}
                vocabulary += sorted(h for h in heads if h)
    return StoreEntries(entries, vocabulary)


def successful_queries(
    searches: Iterable[Any],
    opens: Iterable[Any],
    visibility: Mapping[str, Sequence[str]],
    min_searches: int = MIN_QUERY_SEARCHES,
) -> list[Entry]:
    """Past queries worth suggesting, from the search log (`kb.searchlog.base` events): a search
    succeeded when it found something good (`found_something_good`) or a hit was opened from it.
    A query is suggested once it succeeded `min_searches` times (one person's search stays
    theirs), as visible as its first hit's document (`visibility`: doc id -> teams; a query
    whose first hit is gone is left out), weighted by its successes. Queries are kept as first
    written, grouped by their folded form."""
    opened = {event.search_id for event in opens if event.search_id}
    counts: Counter[str] = Counter()
    shown: dict[str, tuple[str, tuple[str, ...]]] = {}
    for event in searches:
        if event.offset or not event.hits:
            continue
        good = found_something_good(event.mode, event.query, event.best_score)
        if not good and event.search_id not in opened:
            continue
        first = event.hits[0]
        if first not in visibility:
            continue
        norm = normalise(event.query).strip()
        if not norm or len(norm) > MAX_TEXT:
            continue
        counts[norm] += 1
        shown.setdefault(norm, (event.query.strip(), tuple(visibility[first])))
    return [
        Entry(shown[norm][0], "query", count, shown[norm][1])
        for norm, count in counts.items()
        if count >= min_searches
    ]


# -- kept current in the background -----------------------------------------------------------
REFRESH_S = 60.0  # rebuilt at least this often when anything may have changed
MIN_REBUILD_S = 5.0  # and not more often than this, however often the store changes


class SuggestIndex:
    """The current suggester of a service, rebuilt on a thread when it is out of date.

    `build` makes a new suggester (reading the store, the catalogue, the search log); `version`
    says cheaply whether the store changed (its version). `current()` never waits: before the
    first build is done it answers with an empty suggester; after, with the latest one, starting
    a new build when the version changed or the suggester is older than `refresh_s` (the
    catalogue and the search log change without a version), at most every `min_rebuild_s`.
    A failing build is logged and the previous suggester kept.
    """

    def __init__(
        self,
        build: Callable[[], Suggester],
        version: Callable[[], Hashable],
        *,
        refresh_s: float = REFRESH_S,
        min_rebuild_s: float = MIN_REBUILD_S,
    ) -> None:
        self._build = build
        self._version = version
        self.refresh_s = refresh_s
        self.min_rebuild_s = min_rebuild_s
        self._lock = threading.Lock()
        self._current = EMPTY
        self._built: tuple[Hashable, float] | None = None  # (version, when started)
        self._thread: threading.Thread | None = None
        self._stale = False
        self.builds = 0
        self.last_build_s: float | None = None

    def start(self) -> SuggestIndex:
        """Begin the first build in the background (a service calls this as it starts)."""
        self._maybe_rebuild(force=True)
        return self

    def current(self) -> Suggester:
        """The latest suggester; a rebuild starts behind it when it is out of date."""
        self._maybe_rebuild()
        return self._current

    def invalidate(self) -> None:
        """Something changed that the version does not show (a catalogue loaded here)."""
        with self._lock:
            self._stale = True
        self._maybe_rebuild()

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait for a build under way; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _maybe_rebuild(self, force: bool = False) -> None:
        try:
            version = self._version()
        except Exception:  # the store unreachable for a moment: keep what we have
            return
        now = time.monotonic()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            built = self._built
            if not force and built is not None:
                age = now - built[1]
                due = self._stale or built[0] != version or age >= self.refresh_s
                if not due or age < self.min_rebuild_s:
                    return
            self._stale = False
            self._built = (version, now)
            self._thread = threading.Thread(target=self._run, name="kb-suggest-build", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            suggester = self._build()
        except Exception:
            log.exception("suggestions could not be rebuilt; the previous ones are kept")
            return
        self._current = suggester
        self.builds += 1
        self.last_build_s = time.perf_counter() - started


def since_days(days: float) -> datetime:
    """The time `days` ago (UTC): how far back past queries are read."""
    from datetime import UTC, timedelta

    return datetime.now(UTC) - timedelta(days=days)


__all__ = [
    "EMPTY",
    "KINDS",
    "KIND_WEIGHTS",
    "MATCH_BONUS",
    "MIN_QUERY_SEARCHES",
    "Entry",
    "StoreEntries",
    "SuggestIndex",
    "Suggester",
    "Suggestion",
    "entry_keys",
    "normalise",
    "pinyin_keys",
    "since_days",
    "store_entries",
    "successful_queries",
]
