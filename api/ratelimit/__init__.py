"""Per-key rate limits: how many searches, uploads and ingests one API key may start in a
window, counted where every replica sees the same numbers.

The counting is the `limits` library's (the one behind slowapi): a limit is written as it
parses them (``5/second``, ``30 per minute``, ``100/hour;1000/day``). Where the counts live is
the backend's choice (`api.backends.Backend.open_rate_storage`): in this process's memory with
SQLite (one service), moving windows; in the PostgreSQL database the replicas already share,
fixed windows counted by one atomic statement per hit (`api.ratelimit.postgres`).

A caller is counted by its key's stable id (`Principal.key_id`, 16 hex digits of the key's
SHA-256), never by the key itself; with authentication disabled every caller is one.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Literal, get_args

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.util import WindowStats

Action = Literal["search", "upload", "ingest"]
ACTIONS: tuple[Action, ...] = get_args(Action)


# How often counts that have expired are dropped from memory (`QuietMemoryStorage`).
EXPIRY_EVERY_S = 1.0


class QuietMemoryStorage(MemoryStorage):
    """limits' MemoryStorage with its housekeeping once a second instead of every 10 ms.

    The library drops expired counts on a `threading.Timer` that it starts again, a new
    thread each time, 100 times a second while any count is live: on 2 busy cores that cost
    each search about 3 ms in-process (1.7 ms -> 6 ms; `bench/observability_overhead.py`), more
    than the search itself. Nothing but memory rests on it: every check compares timestamps
    (a moving window's entries, a fixed window's expiry), so a count that has expired and not
    yet been dropped is never counted. The hook is the library's private method (its name
    mangled); `tests/api/test_rate_limits.py` fails if a new version of limits renames it."""

    def _MemoryStorage__schedule_expiry(self) -> None:
        if not self.timer.is_alive():
            expire = getattr(self, "_MemoryStorage__expire_events")  # noqa: B009 - mangled
            self.timer = threading.Timer(EXPIRY_EVERY_S, expire)
            self.timer.daemon = True  # never holds up the process's exit
            self.timer.start()


class RateLimitSyntaxError(ValueError):
    """A KB_RATE_LIMIT_* value `limits` cannot read; the message shows the accepted forms."""


def parse_limit(setting: str, value: str) -> list[RateLimitItem]:
    """`value` as `limits` items, or RateLimitSyntaxError naming the setting and the forms."""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if not items:
        raise RateLimitSyntaxError(
            f"{setting}={value!r} is not a rate limit: write it as '5/second', '30 per minute' "
            "or several separated by ';' ('5/second;100/hour'), or leave it unset for none."
        )
    return items


@dataclass(frozen=True)
class Refusal:
    """A hit over a limit: which limit, and in how many whole seconds to try again."""

    action: Action
    limit: str  # as written, e.g. "5 per 1 second"
    retry_after: int

    def message(self) -> str:
        return (
            f"Too many {self.action} requests for this API key: the limit is {self.limit} "
            f"(KB_RATE_LIMIT_{self.action.upper()}); retry in {self.retry_after} s, or "
            "spread the requests out."
        )


class RateLimits:
    """Each action's limits over one storage; `hit` counts a request and says whether it may
    go on. Thread-safe (the storages are)."""

    def __init__(
        self, limits: dict[Action, list[RateLimitItem]], storage: Storage | None = None
    ) -> None:
        self.limits = {action: items for action, items in limits.items() if items}
        self.storage = storage if storage is not None else QuietMemoryStorage()
        # moving windows where the storage keeps them (memory); fixed windows otherwise
        self._limiter: RateLimiter = (
            MovingWindowRateLimiter(self.storage)
            if isinstance(self.storage, MemoryStorage)
            else FixedWindowRateLimiter(self.storage)
        )

    @classmethod
    def from_settings(
        cls, values: dict[Action, str | None], storage: Storage | None = None
    ) -> RateLimits:
        parsed = {
            action: parse_limit(f"KB_RATE_LIMIT_{action.upper()}", value)
            for action, value in values.items()
            if value
        }
        return cls(parsed, storage)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def hit(self, action: Action, key: str) -> Refusal | None:
        """Count one `action` by `key`; None when it is within every limit, else the limit
        it went over. Database errors pass through (the service answers 503 for them)."""
        for item in self.limits.get(action, ()):
            if not self._limiter.hit(item, action, key):
                stats: WindowStats = self._limiter.get_window_stats(item, action, key)
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                return Refusal(action, str(item), min(wait, item.get_expiry()))
        return None


__all__ = [
    "ACTIONS",
    "Action",
    "QuietMemoryStorage",
    "RateLimitSyntaxError",
    "RateLimits",
    "Refusal",
    "parse_limit",
]
