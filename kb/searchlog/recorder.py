"""What a service holds to log its searches: `SearchRecorder` builds the events, applies the
policy (the employee is kept only when allowed; API keys are never given to it) and writes
them to a `SearchLog` in a background thread, so a search never waits for the log and never
fails because of it. `ReaderSignals` reads readers' votes and opens back for search's learned
re-ranker, kept a few seconds per query."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kb.db.outage import OutageWatch
from kb.searchlog.base import (
    VOTES,
    Event,
    FeedbackEvent,
    OpenEvent,
    ReaderCounts,
    SearchEvent,
    SearchLog,
    filters_of,
    new_search_id,
    normal_query,
    now,
    pseudonym,
)
from kb.types import Hit, SearchFilters

log = logging.getLogger("kb.analytics")  # the name service logs are filtered by
QUEUE_SIZE = 10_000  # events waiting for the writer; beyond this they are dropped (and counted)
BATCH = 200  # events written in one transaction


SIGNALS_TTL_S = 5.0  # how long one query's reader counts are reused by search
SIGNALS_CACHED = 1_000  # queries kept at most; beyond, the cache starts again


# -- recording in the background ---------------------------------------------------------------
_STOP = object()


@dataclass(frozen=True)
class _Vote:
    """A vote waiting for the writer, which turns `voter_key` into the log's pseudonym (the
    secret is read from the log there, so the caller never waits for it; the key itself is
    never written)."""

    at: datetime
    query: str
    doc_id: str
    vote: int
    voter_key: str
    search_id: str | None
    employee: str | None

    def event(self, secret: bytes) -> FeedbackEvent:
        return FeedbackEvent(
            at=self.at,
            query=self.query,
            doc_id=self.doc_id,
            vote=self.vote,
            voter=pseudonym(secret, self.voter_key),
            search_id=self.search_id,
            employee=self.employee,
        )


class SearchRecorder:
    """Records searches and opens without making anyone wait: `search` and `opened` put an
    event on a bounded queue (microseconds) and a writer thread stores batches. A failing log
    is reported in the service's log (at most once a minute) and never reaches the caller;
    when the queue is full, events are dropped and counted (`dropped`).

    Policy: `record_employee` False (the default) keeps no employee id at all. The recorder is
    never given an API key. `log` None: recording is off (`search` returns None).
    """

    def __init__(
        self,
        log: SearchLog | None,
        *,
        record_employee: bool = False,
        retention_days: int = 0,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.log = log
        self.record_employee = record_employee
        self.retention_days = retention_days
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._last_warning = 0.0
        self._thread: threading.Thread | None = None
        self._closed = False
        if log is not None:
            self._thread = threading.Thread(target=self._run, name="kb-search-log", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self.log is not None and not self._closed

    # -- what callers use ---------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        mode: str,
        filters: SearchFilters | None,
        k: int,
        offset: int,
        hits: Sequence[Hit],
        employee: str | None = None,
        origin: str = "api",
    ) -> str | None:
        """Record a search; returns its id (for `opened`), or None when recording is off."""
        if not self.enabled:
            return None
        try:  # a search must never fail because of its log
            event = SearchEvent(
                search_id=new_search_id(),
                at=now(),
                query=query,
                mode=mode,
                filters=filters_of(filters),
                k=k,
                offset=offset,
                n_hits=len(hits),
                best_score=hits[0].score if hits else None,
                hits=tuple(hit.doc_id for hit in hits),
                origin=origin,
                employee=employee if self.record_employee else None,
            )
        except Exception as exc:
            self._warn("could not record a search: %s", exc)
            return None
        self._put(event)
        return event.search_id

    def opened(
        self, doc_id: str, search_id: str | None = None, employee: str | None = None
    ) -> None:
        """Record that a document was read, from the search `search_id` if the client said so."""
        if not self.enabled:
            return
        self._put(
            OpenEvent(
                at=now(),
                doc_id=doc_id,
                search_id=search_id,
                employee=employee if self.record_employee else None,
            )
        )

    def voted(
        self,
        query: str,
        doc_id: str,
        vote: int,
        search_id: str | None = None,
        *,
        voter_key: str,
        employee: str | None = None,
    ) -> None:
        """Record a reader's thumb on `doc_id` for `query` (as typed): +1 up, -1 down, 0 the
        earlier vote withdrawn. `voter_key` names the person stably (an employee id, an API
        key's stable id, "cli:<user>") and is stored only as the log's pseudonym of it, so
        that however often one person votes they count once; `employee` is kept only where
        the policy allows. Raises ValueError for a vote other than -1, 0 or 1 (the caller's
        input, checked before anything is queued)."""
        if vote not in VOTES:
            raise ValueError(f"A vote is 1 (up), -1 (down) or 0 (withdrawn), not {vote!r}.")
        if not self.enabled:
            return
        self._put(
            _Vote(
                at=now(),
                query=query,
                doc_id=doc_id,
                vote=vote,
                voter_key=voter_key,
                search_id=search_id,
                employee=employee if self.record_employee else None,
            )
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far is written (or dropped); False on timeout."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (up to `timeout`), stop the writer and close the log."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
        if self.log is not None and (self._thread is None or not self._thread.is_alive()):
            self.log.close()

    # -- the writer -----------------------------------------------------------------------
    def _put(self, event: Event | _Vote) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self._warn("the search log's queue is full: %d event(s) dropped so far", self.dropped)

    def _warn(self, message: str, *args: object) -> None:
        moment = time.monotonic()
        if moment - self._last_warning >= 60.0:
            self._last_warning = moment
            log.warning(message, *args)

    def _run(self) -> None:
        assert self.log is not None
        outage = OutageWatch(log, "the search log's writer", getattr(self.log, "location", None))
        lost = 0  # events not recorded while the database was away
        self._forget_old()
        last_pruned = time.monotonic()
        while True:
            first = self._queue.get()
            batch: list[Event | _Vote] = []
            stop = first is _STOP
            if not stop:
                batch.append(first)  # type: ignore[arg-type]
            while not stop and len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
            try:
                self.log.write(self._resolved(batch))
                outage.succeeded()
                if lost:
                    log.warning(
                        "%d search event(s) were not recorded while the database was away", lost
                    )
                    lost = 0
            except Exception as exc:  # a search must never fail because of its log
                if outage.failed(exc):  # one warning for the outage, the count when it ends
                    lost += len(batch)
                else:
                    self._warn("could not record %d search event(s): %s", len(batch), exc)
            finally:
                for _ in range(len(batch) + (1 if stop else 0)):
                    self._queue.task_done()
            if stop:
                return
            if time.monotonic() - last_pruned > 24 * 3600:
                self._forget_old()
                last_pruned = time.monotonic()

    def _resolved(self, batch: Sequence[Event | _Vote]) -> list[Event]:
        """The batch with each vote's voter as the log's pseudonym."""
        if not any(isinstance(item, _Vote) for item in batch):
            return list(batch)  # type: ignore[arg-type]
        assert self.log is not None
        secret = self.log.voter_secret()
        return [item.event(secret) if isinstance(item, _Vote) else item for item in batch]

    def _forget_old(self) -> None:
        if not self.retention_days or self.log is None:
            return
        try:
            self.log.forget_before(now() - timedelta(days=self.retention_days))
        except Exception as exc:
            self._warn("could not forget old searches: %s", exc)


DISABLED = SearchRecorder(None)


class ReaderSignals:
    """`SearchLog.reader_signals` for search (`kb.search.fusion.Searcher.reader_signals`):
    each query's counts (by normalised query) kept `ttl` seconds, so a busy query costs the
    log one read every few seconds and a vote shows in ranking within that time. A failing log
    gives no signals (and a warning at most once a minute), never a failed search."""

    def __init__(self, log: SearchLog, *, ttl: float = SIGNALS_TTL_S) -> None:
        self.log = log
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, ReaderCounts]]] = {}
        self._lock = threading.Lock()
        self._last_warning = 0.0

    def __call__(self, query: str) -> dict[str, ReaderCounts]:
        key = normal_query(query)
        moment = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and moment - cached[0] < self.ttl:
            return cached[1]
        try:
            found = self.log.reader_signals(query)
        except Exception as exc:  # ranking goes on without readers' signals
            if moment - self._last_warning >= 60.0:
                self._last_warning = moment
                log.warning("could not read readers' votes for ranking: %s", exc)
            found = {}
        with self._lock:
            if len(self._cache) >= SIGNALS_CACHED:
                self._cache.clear()
            self._cache[key] = (moment, found)
        return found
