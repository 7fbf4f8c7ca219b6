"""The search log's contract: what was searched (query, filters, mode, time, hits, the best
score), which documents were opened from which search, and readers' thumbs on hits, for the
organisers' content-gaps report and the learned re-ranker (kb.search.ranking).

`SearchLog` is the seam: `write` a batch of events, read them back since a time, count
readers' votes and opens per (query, document), forget the old ones.
`kb.searchlog.sqlite.SqliteSearchLog` and `kb.searchlog.postgres.PgSearchLog` implement it;
`api.backends` opens the one in use. The rows both backends write are made here
(`search_params`, `search_from_row`), and the counting rules too (`normal_query`, `pseudonym`,
`tally_feedback`, `merge_counts`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from kb.types import SearchFilters

FILTER_NAMES = ("team", "course", "type", "skill", "module", "tag")
SEARCH_ID_PATTERN = r"^[0-9a-f]{16,32}$"


@dataclass(frozen=True)
class SearchEvent:
    """One search as the log keeps it. `hits`: the doc ids of the page, in rank order;
    `origin`: "api" (the HTTP API) or "cli"; `employee`: only where the policy allows."""

    search_id: str
    at: datetime
    query: str
    mode: str
    filters: Mapping[str, str] = field(default_factory=dict)
    k: int = 10
    offset: int = 0
    n_hits: int = 0
    best_score: float | None = None
    hits: tuple[str, ...] = ()
    origin: str = "api"
    employee: str | None = None


@dataclass(frozen=True)
class OpenEvent:
    """A document read (`GET /documents/{id}`, or a hit followed from the search page);
    `search_id`: the search it came from, when the client said so. Recorded once per search
    and document however often it is read."""

    at: datetime
    doc_id: str
    search_id: str | None = None
    employee: str | None = None


@dataclass(frozen=True)
class FeedbackEvent:
    """A reader's thumb on a hit: `vote` +1 (up), -1 (down) or 0 (the earlier vote withdrawn).

    `query` is kept as typed (for display); votes are counted per normalised query
    (`normal_query`). `voter` is a pseudonym (`pseudonym`: an HMAC of the employee id or the API
    key's stable id under a secret kept in the log), so distinct people can be counted without
    storing who they are; `employee` only where the policy allows (as for searches). One voter's
    latest vote per (normalised query, document) is the one that counts."""

    at: datetime
    query: str
    doc_id: str
    vote: int
    voter: str
    search_id: str | None = None
    employee: str | None = None


@dataclass(frozen=True)
class ReaderCounts:
    """What readers did with a document for one query: distinct people who voted it up, down,
    and who opened it from that query's results (see `SearchLog.feedback_summary`)."""

    up: int = 0
    down: int = 0
    opens: int = 0


@dataclass(frozen=True)
class FeedbackTally:
    """The organisers' view of one (query, document): distinct voters whose latest vote is up or
    down, and when the last vote (a withdrawal included) came."""

    query: str  # as most recently typed
    doc_id: str
    up: int
    down: int
    last_vote: datetime


Event = SearchEvent | OpenEvent | FeedbackEvent
VOTES = (-1, 0, 1)


class SearchLog(Protocol):
    """Where searches and opens are kept."""

    def write(self, events: Sequence[Event]) -> None:
        """Store a batch in one transaction (an open repeated for one search is kept once)."""
        ...

    def searches(self, since: datetime) -> list[SearchEvent]:
        """The searches at or after `since`, oldest first."""
        ...

    def opens(self, since: datetime) -> list[OpenEvent]:
        """The opens at or after `since`, oldest first."""
        ...

    def feedback(self, since: datetime) -> list[FeedbackEvent]:
        """The votes at or after `since`, oldest first (every vote, not only the latest)."""
        ...

    def feedback_summary(self) -> dict[tuple[str, str], ReaderCounts]:
        """For every (query, document) anyone voted on or opened from a search: distinct voters
        whose latest vote is up, down, and distinct openers. Keyed by the query as most
        recently typed for its normalised form. Opens count distinct employees where the
        policy recorded them, else distinct searches (without the employee, one person's
        searches cannot be told apart, so each search that led to an open counts once)."""
        ...

    def reader_signals(self, query: str) -> dict[str, ReaderCounts]:
        """`feedback_summary` for one query (normalised as `normal_query`), by doc_id; cheap
        enough to ask once per search (an index on the normalised query)."""
        ...

    def voter_secret(self) -> bytes:
        """The random key of the voters' pseudonyms, created on first use and kept in the log
        (so that every process writing to it gives one person the same pseudonym)."""
        ...

    def forget_before(self, when: datetime) -> int:
        """Delete what is older than `when`; returns how many searches, opens and votes went."""
        ...

    def forget_person(self, employee: str, voters: Sequence[str], terms: Sequence[str]) -> int:
        """Delete one person's rows (a GDPR erasure, `kb person erase`): the searches, opens
        and votes recorded with `employee`, the votes cast under any of `voters` (their
        pseudonyms, `pseudonym`), the opens that followed those searches, and every search
        and vote whose query contains one of `terms` (their id, name, e-mail; ignoring case).
        Returns how many rows went."""
        ...

    def close(self) -> None: ...


def new_search_id() -> str:
    return secrets.token_hex(8)


def now() -> datetime:
    return datetime.now(UTC)


_SPACES = re.compile(r"\s+")


def normal_query(query: str) -> str:
    """The form votes and opens are counted under: NFKC (full-width letters and digits as
    ASCII), case folded, runs of white space as one space, trimmed; "LoRA  Rank" and
    "lora rank" are one query."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", query).casefold()).strip()


def pseudonym(secret: bytes, key: str) -> str:
    """A voter's stable pseudonym: HMAC-SHA256 of `key` (an employee id, an API key's stable
    id) under the log's secret, 16 hex digits. Without the secret it cannot be traced back,
    and short enough that it identifies nobody outside this log."""
    return hmac.new(secret, key.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]


def new_voter_secret() -> str:
    return secrets.token_hex(32)


def latest_votes(events: Sequence[FeedbackEvent]) -> dict[tuple[str, str, str], FeedbackEvent]:
    """Each voter's latest vote per (normalised query, doc_id), from events oldest first."""
    latest: dict[tuple[str, str, str], FeedbackEvent] = {}
    for event in events:
        latest[(normal_query(event.query), event.doc_id, event.voter)] = event
    return latest


def tally_feedback(events: Sequence[FeedbackEvent]) -> list[FeedbackTally]:
    """The organisers' list from votes oldest first: per (normalised query, document),
    distinct voters whose latest vote is up and down, the query as last typed, the time of
    the last vote; most downvoted first (then most upvoted, then the latest)."""
    typed: dict[str, str] = {}
    last: dict[tuple[str, str], datetime] = {}
    for event in events:
        norm = normal_query(event.query)
        typed[norm] = event.query
        last[(norm, event.doc_id)] = event.at
    up: dict[tuple[str, str], int] = {}
    down: dict[tuple[str, str], int] = {}
    for (norm, doc_id, _), event in latest_votes(events).items():
        if event.vote > 0:
            up[(norm, doc_id)] = up.get((norm, doc_id), 0) + 1
        elif event.vote < 0:
            down[(norm, doc_id)] = down.get((norm, doc_id), 0) + 1
    rows = [
        FeedbackTally(typed[norm], doc_id, up.get(key, 0), down.get(key, 0), when)
        for key, when in last.items()
        for norm, doc_id in [key]
    ]
    rows.sort(key=lambda r: (-r.down, -r.up, -r.last_vote.timestamp(), r.query, r.doc_id))
    return rows


def filters_of(filters: SearchFilters | None) -> dict[str, str]:
    """The filters a user chose (never the caller's teams, which the service adds)."""
    if filters is None:
        return {}
    values = {name: getattr(filters, name) for name in FILTER_NAMES}
    return {name: str(value) for name, value in values.items() if value}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _epoch(when: datetime) -> int:
    """Microseconds since 1970 (UTC): exact, and ordered as the times are."""
    return (when - _EPOCH) // _MICROSECOND


def _utc(epoch: int) -> datetime:
    return _EPOCH + epoch * _MICROSECOND


def merge_counts(
    votes: Sequence[Sequence[object]],
    opens: Sequence[Sequence[object]],
    typed: dict[str, str],
) -> dict[tuple[str, str], ReaderCounts]:
    """The votes' and the opens' counts as one ReaderCounts per (query as typed, doc_id)
    (both logs' `feedback_summary`; the counts that are all zero left out)."""
    counts: dict[tuple[str, str], ReaderCounts] = {}
    for norm, doc_id, up, down in votes:
        key = (typed.get(str(norm), str(norm)), str(doc_id))
        counts[key] = ReaderCounts(up=int(up or 0), down=int(down or 0))  # type: ignore[call-overload]
    for norm, doc_id, opened in opens:
        key = (typed.get(str(norm), str(norm)), str(doc_id))
        before = counts.get(key, ReaderCounts())
        counts[key] = ReaderCounts(before.up, before.down, int(opened))  # type: ignore[call-overload]
    return {key: value for key, value in counts.items() if value != ReaderCounts()}


def search_params(event: SearchEvent) -> tuple[object, ...]:
    """A search's column values after `at` (shared with the PostgreSQL log)."""
    return (
        event.query,
        event.mode,
        json.dumps(dict(event.filters), ensure_ascii=False, sort_keys=True),
        event.k,
        event.offset,
        event.n_hits,
        event.best_score,
        json.dumps(list(event.hits)),
        event.origin,
        event.employee,
    )


def search_from_row(search_id: str, at: datetime, row: Sequence[object]) -> SearchEvent:
    query, mode, filters, k, offset, n_hits, best, hits, origin, employee = row
    return SearchEvent(
        search_id=search_id,
        at=at,
        query=str(query),
        mode=str(mode),
        filters=json.loads(str(filters)),
        k=int(k),  # type: ignore[call-overload]
        offset=int(offset),  # type: ignore[call-overload]
        n_hits=int(n_hits),  # type: ignore[call-overload]
        best_score=None if best is None else float(best),  # type: ignore[arg-type]
        hits=tuple(json.loads(str(hits))),
        origin=str(origin),
        employee=None if employee is None else str(employee),
    )
