"""The contract suites: each seam's contract (the document store and the knowledge base over
it, the search log, the recommender's state, the cycles' events, the command line and the
HTTP API on top) checked by one suite that runs on every backend, as Haystack's reusable
document-store tests are run against each store.

`BACKENDS` is the one list: each backend's name (as `api.backends.BACKENDS` knows it) and how
a test gets a fresh, empty place for it (the database URL `api.backends.open_backend` takes;
None: the test's home folder). A new backend is one entry here, and
`test_every_backend_has_a_contract_entry` fails until it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.backends import Backend, open_backend


def _embedded(request: pytest.FixtureRequest) -> str | None:
    return None  # the home folder is the place: each test has its own


def _postgresql(request: pytest.FixtureRequest) -> str | None:
    from tests.pg_helpers import fresh_database

    # a new database on the session's server (usable from fixtures of any scope)
    return fresh_database(request.getfixturevalue("pg_server_url"))


FRESH: dict[str, Callable[[pytest.FixtureRequest], str | None]] = {
    "sqlite": _embedded,
    "postgresql": _postgresql,
}
BACKENDS: list[str] = list(FRESH)


def fresh_url(name: str, request: pytest.FixtureRequest) -> str | None:
    """What `open_backend` takes for a fresh, empty `name` backend (None: the home folder)."""
    return FRESH[name](request)


def fresh_backend(name: str, home: Path, request: pytest.FixtureRequest) -> Backend:
    """A fresh, empty backend called `name`, with `home` as its home folder."""
    return open_backend(home, fresh_url(name, request))
