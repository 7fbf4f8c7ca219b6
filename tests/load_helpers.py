"""Many clients at once against one or more apps, counted: for the rate-limit tests and
bench/rate_limit.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# One request: (status, headers, body); clients are callables so that a TestClient, an
# httpx.Client over a real socket, or anything else fits.
Send = Callable[[], Any]


@dataclass
class Load:
    """What a run of clients saw. `accepted_at` are the send times (seconds from the start)
    of the requests answered 200."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    accepted_at: list[float] = field(default_factory=list)
    refusals: list[Any] = field(default_factory=list)  # a few 429 responses, to read

    @property
    def steady_rate(self) -> float:
        """Accepted requests per second once the first window's burst is over: those sent in
        [0.5, seconds - 0.5), over seconds - 1. A limiter lets a full window through at once
        and then one window's worth each window; counting from the middle of the first window
        to the middle of the last counts whole windows only, so the figure is the limit
        itself when the limiter holds it."""
        inside = [t for t in self.accepted_at if 0.5 <= t < self.seconds - 0.5]
        return len(inside) / (self.seconds - 1.0)

    @property
    def raw_rate(self) -> float:
        return len(self.accepted_at) / self.seconds

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def hammer(clients: Sequence[Send], seconds: float, pause: float = 0.02) -> Load:
    """Each of `clients` sends requests back to back (with `pause` between two) for `seconds`;
    every answer counted."""
    load = Load(seconds)
    lock = threading.Lock()
    start = time.perf_counter()

    def run(send: Send) -> None:
        while (sent := time.perf_counter() - start) < seconds:
            response = send()
            with lock:
                load.statuses[response.status_code] += 1
                if response.status_code == 200:
                    load.accepted_at.append(sent)
                elif response.status_code == 429 and len(load.refusals) < 3:
                    load.refusals.append(response)
            time.sleep(pause)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load
