"""xAPI on both backends: a round trip (statements exported from one store and imported into
a fresh one give the same levels, completions, ratings and cycle figures), importing twice
adding nothing, the outbox's contract, and pushing to a real LRS on loopback that fails
first: retried, never lost, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.backends import Backend
from api.settings import Settings
from api.xapi import LrsClient, push_once
from recommender import (
    Event,
    RecommenderStore,
    current_catalog,
    export_statements,
    import_results,
    import_statements,
    list_cycles,
    load_catalog,
    load_cycle_state,
    record_completion,
)
from recommender.cycles.csv_import import ImportFile
from tests.api_helpers import CATALOG
from tests.contracts import BACKENDS, fresh_backend
from tests.xapi_helpers import PASSWORD, USER, running_lrs

CYCLES = ("recsys-cf-2024-02", "llm-support-2024-04", "nlp-optimisation-2024-06")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return fresh_backend(request.param, tmp_path / "home", request)


def fill(store: RecommenderStore) -> None:
    """The sample catalogue, its three cycles' results, completions and a rating."""
    load_catalog(store, CATALOG)
    for cycle in CYCLES:
        files = [
            ImportFile(p.name, p.read_bytes())
            for p in sorted((CATALOG / "cycles").glob(f"{cycle}.*.csv"))
        ]
        import_results(store, current_catalog(store), cycle, files)
    catalog = current_catalog(store)
    record_completion(store, catalog, "liam-chen", "nlp-optimisation", 0.6)
    record_completion(store, catalog, "noor-haddad", "nlp-preprocessing", 1.0)
    store.add_event(
        Event(
            kind="rating",
            employee="liam-chen",
            doc_id="doc-1",
            rating=4,
            created_at="2026-01-02T00:00:00+00:00",
        )
    )


def state(store: RecommenderStore) -> dict[str, Any]:
    catalog = current_catalog(store)
    cycles = list_cycles(load_cycle_state(store))
    return {
        "levels": {e.id: dict(e.skills) for e in catalog.employees.values()},
        "completed": {e.id: sorted(e.completed_modules) for e in catalog.employees.values()},
        "ratings": {e.id: dict(e.ratings) for e in catalog.employees.values()},
        "cycles": [(c.id, c.figure_of_merit, c.assessed, c.sessions) for c in cycles],
    }


def test_a_round_trip_gives_the_same_levels(
    backend: Backend, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with backend.open_recommender_store() as source:
        fill(source)
        before = state(source)
        exported = export_statements(source.events())
    assert len(exported.statements) > 50
    data = json.dumps(exported.to_dict()).encode()
    for name in BACKENDS:  # into a fresh store of either backend
        fresh = fresh_backend(name, tmp_path / f"fresh-{name}", request)
        with fresh.open_recommender_store() as target:
            load_catalog(target, CATALOG)
            report = import_statements(target, current_catalog(target), data)
            assert report.skipped == () and report.recorded == len(exported.statements)
            assert state(target) == before
            again = export_statements(target.events())
            # the same statements (recorded oldest first, so not always in the source's order)
            assert sorted(s["id"] for s in again.statements) == sorted(
                s["id"] for s in exported.statements
            )
            assert import_statements(target, current_catalog(target), data).recorded == 0
    changed = before["levels"]["liam-chen"] != {}
    assert changed  # the state compared is not empty


def test_the_outbox_keeps_order_and_counts_attempts(backend: Backend) -> None:
    with backend.open_xapi_outbox() as outbox:
        assert outbox.enqueue([("a", "{}"), ("b", "{}"), ("c", "{}")], "t1") == 3
        assert outbox.enqueue([("b", "{}"), ("d", "{}")], "t2") == 1
        assert outbox.known() == {"a", "b", "c", "d"}
        waiting = outbox.waiting(2)
        assert [w.statement_id for w in waiting] == ["a", "b"]
        outbox.mark_failed([w.seq for w in waiting], "503 busy", "t3")
        status = outbox.status()
        assert (status.waiting, status.sent, status.attempts) == (4, 0, 1)
        assert status.last_error == "503 busy"
        outbox.mark_sent([w.seq for w in waiting], "t4")
    with backend.open_xapi_outbox() as reopened:  # kept across openings
        assert [w.statement_id for w in reopened.waiting(10)] == ["c", "d"]
        status = reopened.status()
        assert (status.waiting, status.sent, status.last_sent_at) == (2, 2, "t4")


def test_pushing_to_an_lrs_that_fails_retries_in_order_and_loses_nothing(
    backend: Backend,
) -> None:
    with backend.open_recommender_store() as store:
        fill(store)
        ours = [s["id"] for s in export_statements(store.events()).statements]
    with running_lrs() as lrs:
        settings = Settings(xapi_lrs_url=lrs.url)
        client = LrsClient(lrs.url, USER, PASSWORD)
        lrs.fail_next = 2
        first = push_once(backend, settings, client)
        assert first.enqueued == len(ours) and first.sent == 0 and "503" in (first.error or "")
        second = push_once(backend, settings, client)
        assert second.enqueued == 0 and second.sent == 0 and second.waiting == len(ours)
        with backend.open_xapi_outbox() as outbox:
            assert outbox.status().attempts == 2
        third = push_once(backend, settings, client)
        assert third.error is None and third.sent == len(ours) and third.waiting == 0
        assert [s["id"] for s in lrs.statements] == ours  # in order, each once
        requests = lrs.requests
        assert push_once(backend, settings, client).sent == 0 and lrs.requests == requests
        # a new event is pushed alone; statements imported from an LRS are not sent back
        with backend.open_recommender_store() as store:
            record_completion(store, current_catalog(store), "liam-chen", "nlp-evaluation", 0.9)
            imported = dict(export_statements(store.events()).statements[0])
            imported_id = "0a6f1e4c-1111-4222-8333-444455556666"
            import_statements(
                store,
                current_catalog(store),
                json.dumps(
                    [{**imported, "id": imported_id, "actor": {"mbox": "mailto:noor-haddad@x.y"}}]
                ).encode(),
            )
        fourth = push_once(backend, settings, client)
        assert fourth.sent == 1 and lrs.statements[-1]["object"]["id"].endswith("nlp-evaluation")
        assert imported_id not in lrs.by_id()
        # what the LRS holds imports back, following its `more` pages
        fetched = LrsClient(lrs.url, USER, PASSWORD).fetch()
        assert [s["id"] for s in fetched] == [s["id"] for s in lrs.statements]
        # wrong credentials are an error that says so, and nothing is marked sent
        with backend.open_recommender_store() as store:
            record_completion(store, current_catalog(store), "noor-haddad", "nlp-features", 0.5)
        refused = push_once(backend, settings, LrsClient(lrs.url, USER, "wrong"))
        assert refused.waiting == 1 and "401" in (refused.error or "")
    gone = push_once(backend, settings, client)  # the LRS is down: still waiting
    assert gone.waiting == 1 and "cannot reach the LRS" in (gone.error or "")


def test_an_erased_person_leaves_no_statement_in_the_outbox_and_retention_drops_sent_ones(
    backend: Backend,
) -> None:
    from api.person import apply_retention

    body = '{{"id": "{0}", "actor": {{"account": {{"homePage": "https://x", "name": "{1}"}}}}}}'
    with backend.open_xapi_outbox() as outbox:
        outbox.enqueue(
            [("a", body.format("a", "liam-chen")), ("b", body.format("b", "noor-haddad"))]
            + [("c", body.format("c", "liam-chen"))],
            "2020-01-01T00:00:00+00:00",
        )
        first = outbox.waiting(1)
        outbox.mark_sent([w.seq for w in first], "2020-01-02T00:00:00+00:00")
        assert outbox.forget("liam-chen") == 2
        assert outbox.known() == {"b"} and outbox.forget("liam-chen") == 0
        outbox.mark_sent([w.seq for w in outbox.waiting(5)], "2021-06-01T00:00:00+00:00")
    assert apply_retention(backend, searches_days=0, events_days=30)["xapi_statements"] == 1
    with backend.open_xapi_outbox() as outbox:
        assert outbox.known() == set()
