"""recommender.people: who a person is in stored text, and the catalogue without them."""

from __future__ import annotations

from recommender import PersonTerms, catalog_without, events_without
from recommender.state.events import Event

ANN = PersonTerms("ann-lee", "Ann Lee", "ann.lee@example.com")


def test_a_person_is_found_as_whole_words_ignoring_case() -> None:
    assert ANN.mentioned_in("Ann Lee <ann.lee@example.com>")
    assert ANN.mentioned_in("ask ANN-LEE about drift")
    assert not ANN.mentioned_in("Joanna Leech")  # "Ann Lee" inside other words
    assert not ANN.mentioned_in(None)
    assert ANN.matches(" ann lee ") and not ANN.matches("Ann")


def test_the_catalogue_without_them_still_has_valid_lists() -> None:
    raw = {
        "employees": [{"id": "ann-lee", "name": "Ann Lee"}, {"id": "bo", "name": "Bo"}],
        "cycles": [
            {"id": "c1", "trainers": ["ann-lee"], "participants": ["bo", "ann-lee"]},
            {"id": "c2", "trainers": ["bo"], "participants": ["bo"]},
        ],
    }
    cleaned, changed = catalog_without(raw, ANN)  # type: ignore[arg-type]
    assert changed == 2
    assert cleaned["employees"] == [{"id": "bo", "name": "Bo"}]
    # a list left empty is dropped (an empty `trainers` would not validate), others kept
    assert cleaned["cycles"][0] == {"id": "c1", "participants": ["bo"]}
    assert cleaned["cycles"][1] == raw["cycles"][1]


def test_their_events_go_and_cycle_definitions_lose_them() -> None:
    events = [
        Event("completion", "ann-lee", "2026-01-01T00:00:00+00:00", module="m", id=1),
        Event(
            "cycle",
            "",
            "2026-01-01T00:00:00+00:00",
            cycle="c",
            id=2,
            details={"participants": ["ann-lee", "bo"], "title": "Drift"},
        ),
        Event("rating", "bo", "2026-01-01T00:00:00+00:00", doc_id="d", rating=3, id=3),
    ]
    remove, details = events_without(events, ANN)
    assert remove == [1]
    assert details == {2: {"participants": ["bo"], "title": "Drift"}}
