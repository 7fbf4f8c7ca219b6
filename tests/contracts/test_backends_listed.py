"""The contract suites cover every backend the service can open, and each fresh place is one."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.backends import BACKENDS as SERVICE_BACKENDS
from tests.contracts import BACKENDS, fresh_backend


def test_every_backend_has_a_contract_entry() -> None:
    assert sorted(BACKENDS) == sorted(SERVICE_BACKENDS)


@pytest.mark.parametrize("name", BACKENDS)
def test_a_fresh_place_opens_the_backend_of_that_name(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = fresh_backend(name, tmp_path / "home", request)
    assert backend.name == name
    store = backend.open_store()
    try:
        assert store.backend == name and store.count_documents() == 0
    finally:
        store.close()
