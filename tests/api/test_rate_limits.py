"""Per-key rate limits (KB_RATE_LIMIT_*) and the cap on concurrent query encodes: ten
clients on one key against a limit of 5 a second get 5 a second through, never a 5xx; another
key is unaffected; two replicas on one PostgreSQL share the count."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.ratelimit import QuietMemoryStorage, RateLimits, RateLimitSyntaxError, parse_limit
from api.settings import Settings
from kb import Embedder
from kb.embed.scheduler import EncoderScheduler
from tests.api_helpers import CORPUS, auth, ingest, running_client
from tests.load_helpers import hammer

LIMIT = 5  # per second
SECONDS = 5.0


def _search(client: TestClient, who: str):  # type: ignore[no-untyped-def]
    return lambda: client.get(
        "/search", params={"q": "hyperparameter tuning", "mode": "lexical"}, headers=auth(who)
    )


def test_a_limit_is_read_at_start_up_and_a_typo_names_the_setting() -> None:
    assert [str(i) for i in parse_limit("KB_RATE_LIMIT_SEARCH", "5/second;100/hour")] == [
        "5 per 1 second",
        "100 per 1 hour",
    ]
    with pytest.raises(ValueError, match="KB_RATE_LIMIT_SEARCH='fast' is not a rate limit"):
        Settings(rate_limit_search="fast")
    assert issubclass(RateLimitSyntaxError, ValueError)
    assert Settings(rate_limit_search="").rate_limit_search is None  # empty: off


def test_keys_are_counted_apart_and_a_refusal_says_when_to_retry() -> None:
    limits = RateLimits.from_settings({"search": "2/second"})
    assert limits.hit("search", "key-a") is None
    assert limits.hit("search", "key-a") is None
    refusal = limits.hit("search", "key-a")
    assert refusal is not None and refusal.retry_after == 1
    assert "limit is 2 per 1 second" in refusal.message()
    assert limits.hit("search", "key-b") is None  # another key: its own count
    assert limits.hit("upload", "key-a") is None  # no upload limit set: never refused


@pytest.fixture
def limited(tmp_path: Path, fake_embedder: Embedder) -> Iterator[TestClient]:
    with running_client(tmp_path, fake_embedder, rate_limit_search=f"{LIMIT}/second") as client:
        ingest(client, CORPUS)
        yield client


def _check_load(clients: Sequence, other: TestClient) -> None:  # type: ignore[type-arg]
    """Ten clients on the organiser's key, and liam's key at 3 a second alongside."""
    others: list[int] = []

    def other_key() -> None:
        end = time.perf_counter() + SECONDS
        while time.perf_counter() < end:
            others.append(_search(other, "liam")().status_code)
            time.sleep(1 / 3)

    side = threading.Thread(target=other_key)
    side.start()
    load = hammer(clients, SECONDS)
    side.join()
    assert load.server_errors == 0, load.statuses
    # Never more than the limit (10% for the windows' edges). Fewer is the machine's doing, not
    # the limiter's: a loaded CI machine answers slower than 5 a second for one key, so the
    # test asks for half; the rate itself is measured in bench/rate_limit.py (5.0/s).
    assert load.steady_rate <= 1.1 * LIMIT, (load.steady_rate, load.statuses)
    assert load.steady_rate >= 0.5 * LIMIT, (load.steady_rate, load.statuses)
    assert load.statuses[429] > 0
    refused = load.refusals[0]
    assert 1 <= int(refused.headers["Retry-After"]) <= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "Too many search requests for this API key" in refused.json()["error"]["message"]
    assert set(others) == {200}, others  # another key is unaffected


def test_counts_in_memory_are_swept_once_a_second_not_a_hundred_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """limits' MemoryStorage started a new sweeper thread every 10 ms while any count lived
    (3 ms a search on 2 busy cores); ours sweeps once a second, and an expired count is
    still never counted, and still dropped from memory by the sweep."""
    from limits.storage import MemoryStorage

    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")  # the hook we override
    started: list[float] = []
    real_start = threading.Timer.start

    def counted(timer: threading.Timer) -> None:
        started.append(time.monotonic())
        real_start(timer)

    monkeypatch.setattr(threading.Timer, "start", counted)
    limits = RateLimits.from_settings({"search": "3/second"}, QuietMemoryStorage())
    begun = time.monotonic()
    answers = []
    while time.monotonic() - begun < 1.5:
        answers.append(limits.hit("search", "k"))
        time.sleep(0.01)
    assert len(started) <= 4, f"{len(started)} sweeper threads in 1.5 s"  # was some 150
    assert sum(answer is None for answer in answers) in range(3, 7)  # 3 a second, 2 windows
    time.sleep(2.2)  # the window and a sweep pass
    assert limits.hit("search", "k") is None  # the old entries expired: counted afresh
    storage = limits.storage
    assert isinstance(storage, QuietMemoryStorage)
    time.sleep(2.2)
    assert not storage.events.get("LIMITER/search/k/3/1/second")  # dropped by the sweep


def test_ten_clients_on_one_key_get_the_limit_and_no_5xx(limited: TestClient) -> None:
    _check_load([_search(limited, "organiser") for _ in range(10)], limited)


def test_uploads_have_their_own_limit(tmp_path: Path, fake_embedder: Embedder) -> None:
    with running_client(tmp_path, fake_embedder, rate_limit_upload="1/minute") as client:
        files = [("files", ("a.md", b"# A\n\nSome text about tuning."))]
        assert client.post("/ingest", files=files, headers=auth("organiser")).status_code == 202
        again = client.post("/ingest", files=files, headers=auth("organiser"))
        assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 60
        assert "KB_RATE_LIMIT_UPLOAD" in again.json()["error"]["message"]
        assert (
            client.get("/search", params={"q": "a"}, headers=auth("organiser")).status_code == 200
        )
        # an unknown key is still told so, not counted
        assert (
            client.post("/ingest", files=files, headers={"Authorization": "Bearer x"}).status_code
            == 401
        )


def test_two_replicas_on_one_postgresql_share_the_limit(
    tmp_path: Path, fake_embedder: Embedder, database_url: str
) -> None:
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(
                running_client(
                    tmp_path / f"replica-{n}",
                    fake_embedder,
                    database_url=database_url,
                    rate_limit_search=f"{LIMIT}/second",
                )
            )
            for n in range(2)
        ]
        ingest(replicas[0], CORPUS)
        clients = [_search(replicas[n % 2], "organiser") for n in range(10)]
        _check_load(clients, replicas[1])


class _SlowModel:
    """A model that takes 20 ms a batch and records how many texts it was given at once."""

    dim = 4

    def __init__(self) -> None:
        self.largest = 0

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.largest = max(self.largest, len(texts))
        time.sleep(0.02)
        return np.ones((len(texts), self.dim), dtype=np.float32) / 2


def test_a_burst_of_queries_waits_its_turn_within_the_encode_cap() -> None:
    model = _SlowModel()
    scheduler = EncoderScheduler(model)
    scheduler.cap_queries(2)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(len(scheduler.encode_query(f"q{i}"))))
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [4] * 20  # everyone answered
    assert model.largest <= 2  # never more than the cap in the model at once
    scheduler.cap_queries(None)


def test_the_service_sets_the_encode_cap(tmp_path: Path, embedder: Embedder) -> None:
    with running_client(tmp_path, embedder, max_concurrent_encodes=3):
        assert embedder.scheduler._query_slots is not None  # type: ignore[attr-defined]
    assert embedder.scheduler._query_slots is None  # type: ignore[attr-defined]
