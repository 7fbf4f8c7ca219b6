"""xAPI statements in: checked against the specification (each bad statement named by
position, id and reason; the batch refused whole), the shapes an LRS gives out, actors and
activities mapped to employees and modules (by default and by a mapping file), each verb
turned into the events the recommender learns from, and importing twice adding nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recommender import current_catalog, load_catalog
from recommender.errors import InvalidValueError
from recommender.state.sqlite import CatalogStore
from recommender.xapi.exporting import export_statements
from recommender.xapi.importing import XapiInvalidError, import_statements
from recommender.xapi.mapping import XapiMapping
from recommender.xapi.statement import check_statement
from tests.recommender.test_cycles import write_catalog
from tests.recommender.xapi_cases import ADL, malformed, valid


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CatalogStore]:
    with CatalogStore.open(tmp_path / "home") as opened:
        load_catalog(opened, write_catalog(tmp_path / "catalog"))
        yield opened


def run(store: CatalogStore, batch: Any, mapping: XapiMapping | None = None, **kw: Any) -> Any:
    data = batch if isinstance(batch, bytes) else json.dumps(batch).encode()
    return import_statements(store, current_catalog(store), data, mapping, **kw)


def levels(store: CatalogStore, employee: str) -> dict[str, int]:
    return dict(current_catalog(store).employees[employee].skills)


def test_a_valid_statement_passes_the_check() -> None:
    statement, reasons = check_statement(valid())
    assert reasons == [] and statement is not None
    assert statement.actor.mbox == "mailto:ann@corp.example"


@pytest.mark.parametrize(("statement", "words"), malformed())
def test_each_malformed_statement_is_refused_with_its_reason(
    statement: dict[str, Any], words: str
) -> None:
    checked, reasons = check_statement(statement)
    assert checked is None
    assert any(words in reason for reason in reasons), reasons


def test_fifty_malformed_statements_in_a_batch_are_each_named_and_nothing_is_imported(
    store: CatalogStore,
) -> None:
    cases = malformed()
    batch = [valid(1)] + [statement for statement, _ in cases] + [valid(2)]
    with pytest.raises(XapiInvalidError) as caught:
        run(store, batch)
    faults = caught.value.faults
    assert {f.position for f in faults} == set(range(2, 52))  # the valid ones are not named
    for position, (statement, words) in enumerate(cases, 2):
        mine = [f for f in faults if f.position == position]
        assert any(words in f.reason for f in mine), (position, [f.reason for f in mine])
        if "id" in statement and words.find("UUID") < 0:
            assert all(f.id == statement["id"] for f in mine)
    assert "statement 2 (id " in str(caught.value)
    assert store.events() == []


@pytest.mark.parametrize(
    "shape",
    ["array", "statement_result", "json_lines", "one"],
)
def test_the_shapes_an_lrs_gives_out_are_read(store: CatalogStore, shape: str) -> None:
    statements = [valid(1), valid(2, object={"id": "https://lms/modules/m2"})]
    data = {
        "array": json.dumps(statements),
        "statement_result": json.dumps({"statements": statements, "more": ""}),
        "json_lines": "\n".join(json.dumps(s) for s in statements) + "\n",
        "one": json.dumps(statements[0]),
    }[shape]
    report = run(store, data.encode())
    expected = 1 if shape == "one" else 2
    assert report.recorded == expected and report.events == expected


def test_unreadable_batches_are_refused_with_where(store: CatalogStore) -> None:
    for data, words in [
        (b"", "empty"),
        (b"[1, 2", "not JSON"),
        (b'{"a": 1}\n{"b": ', "line 2 is not JSON"),
        (b"42", "JSON array"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "no statements"),
    ]:
        with pytest.raises(XapiInvalidError, match=words):
            run(store, data)


def test_a_repeated_id_in_one_batch_is_a_fault(store: CatalogStore) -> None:
    with pytest.raises(XapiInvalidError, match="statement 2 .*repeats the id of statement 1"):
        run(store, [valid(1), valid(1)])


def test_completions_raise_levels_as_kb_complete_does_and_twice_adds_nothing(
    store: CatalogStore,
) -> None:
    before = levels(store, "ann")
    report = run(store, [valid(1)])  # ann completed m1 (opt 4, clean 3) at 0.8
    assert (report.recorded, report.events, report.already_imported) == (1, 1, 0)
    after = levels(store, "ann")
    assert before == {"opt": 1, "clean": 2}
    assert after == {"opt": 3, "clean": 3}  # 1 + 3 x 0.8 = 3.4 -> 3; 2 + 0.8 -> 3
    again = run(store, [valid(1)])
    assert (again.recorded, again.events, again.already_imported) == (0, 0, 1)
    assert len(store.events()) == 1 and levels(store, "ann") == after
    event = store.events()[0]
    assert event.details["xapi_id"] == valid(1)["id"] and event.score == 0.8


def test_a_statement_without_an_id_is_imported_once_too(store: CatalogStore) -> None:
    statement = valid(1)
    del statement["id"]
    assert run(store, [statement]).recorded == 1
    assert run(store, [statement]).already_imported == 1
    assert len(store.events()) == 1


def test_actors_map_by_account_mbox_and_the_mapping_file(store: CatalogStore) -> None:
    batch = [
        valid(1, actor={"account": {"homePage": "https://lms", "name": "bob"}}),
        valid(2, actor={"mbox": "mailto:cid@corp.example"}),
        valid(3, actor={"mbox": "mailto:annie.smith@corp.example"}),
        valid(4, actor={"account": {"homePage": "https://hr", "name": "E-1234"}}),
        valid(5, actor={"openid": "https://id.example/tess"}),
        valid(6, actor={"mbox": "mailto:stranger@else.example"}),
    ]
    mapping = XapiMapping(
        actors={
            "mailto:annie.smith@corp.example": "ann",
            "https://hr|E-1234": "bob",
            "https://id.example/tess": "tess",
        }
    )
    report = run(store, batch, mapping)
    assert [e.employee for e in store.events()] == ["bob", "cid", "ann", "bob", "tess"]
    assert [(s.position, s.id) for s in report.skipped] == [(6, valid(6)["id"])]
    assert "stranger@else.example is no employee" in report.skipped[0].reason


def test_activities_map_by_last_segment_and_the_mapping_file(store: CatalogStore) -> None:
    batch = [
        valid(1, object={"id": "https://lms/course/c"}),  # the course: each of its modules
        valid(2, object={"id": "https://lms/mod/view.php?id=77"}),
        valid(3, object={"id": "https://lms/unknown-thing"}),
    ]
    mapping = XapiMapping(activities={"https://lms/mod/view.php?id=77": "m2"})
    report = run(store, batch, mapping)
    assert [(e.module, e.details["xapi_id"]) for e in store.events()] == [
        ("m1", valid(1)["id"]),
        ("m2", valid(1)["id"]),
        ("m2", valid(2)["id"]),
    ]
    assert report.events == 3 and report.recorded == 2
    assert "activity https://lms/unknown-thing is no module" in report.skipped[0].reason


def test_verbs_become_the_events_the_recommender_learns_from(store: CatalogStore) -> None:
    cycle = {"extensions": {"https://kb.local/xapi/extensions/cycle": "c1"}}
    batch = [
        valid(1, verb={"id": ADL + "passed"}, result={"success": True}),
        valid(2, verb={"id": ADL + "failed"}, object={"id": "https://lms/modules/m2"}),
        valid(
            3,
            actor={"account": {"homePage": "https://lms", "name": "bob"}},
            verb={"id": ADL + "scored"},
            object={"id": "https://kb.local/xapi/skills/opt"},
            result={"score": {"raw": 15, "min": 0, "max": 20}},
            context=cycle,
        ),
        valid(
            4,
            actor={"account": {"homePage": "https://lms", "name": "bob"}},
            verb={"id": ADL + "attended"},
            object={"id": "https://kb.local/xapi/cycles/c1/sessions/s1"},
            result={"completion": False},
        ),
        valid(
            5,
            verb={"id": ADL + "rated"},
            object={"id": "https://kb/documents/doc-9"},
            result={"score": {"raw": 4, "min": 1, "max": 5}},
        ),
        valid(
            6,
            verb={"id": ADL + "rated"},
            object={"id": "https://kb/documents/doc-9"},
            result={"score": {"scaled": 0.5}},
        ),
        valid(7, verb={"id": ADL + "attended"}),  # a module, no cycle
    ]
    report = run(store, batch)
    kinds = [(e.kind, e.employee) for e in store.events()]
    assert kinds == [
        ("completion", "ann"),
        ("assessment", "bob"),
        ("attendance", "bob"),
        ("rating", "ann"),
    ]
    assessment, attendance, rating = store.events()[1:]
    assert assessment.cycle == "c1" and assessment.score == 0.75
    assert assessment.details["phase"] == "post" and assessment.details["skill"] == "opt"
    assert attendance.details["session"] == "s1" and attendance.details["attended"] is False
    assert rating.doc_id == "doc-9" and rating.rating == 4
    reasons = {s.position: s.reason for s in report.skipped}
    assert set(reasons) == {2, 6, 7}
    assert "failed module outside a training cycle" in reasons[2]
    assert "whole number 1..5" in reasons[6]
    assert "name the cycle" in reasons[7]
    assert levels(store, "bob")["opt"] == 4  # 2 + (4 - 2) x 0.75 = 3.5, half up: 4
    with pytest.raises(XapiInvalidError, match="statement 2 .*failed module"):
        run(store, [valid(20), valid(21, verb={"id": ADL + "failed"})], strict=True)


def test_statements_are_recorded_oldest_first(store: CatalogStore) -> None:
    newest_first = [
        valid(1, timestamp="2024-05-03T10:00:00+02:00", result={"score": {"scaled": 0.2}}),
        valid(2, timestamp="2024-05-02T10:00:00Z", result={"score": {"scaled": 0.9}}),
    ]
    run(store, newest_first)
    assert [e.details["xapi_id"] for e in store.events()] == [valid(2)["id"], valid(1)["id"]]


def test_the_mapping_file_is_checked() -> None:
    mapping = XapiMapping.from_text("actors:\n  'mailto:a@b.c': ann\nactivities: {x:1: m1}\n")
    assert mapping.actors == {"mailto:a@b.c": "ann"}
    with pytest.raises(InvalidValueError, match="tables only"):
        XapiMapping.from_text("people: {}\n")
    with pytest.raises(InvalidValueError, match="maps strings to strings"):
        XapiMapping.from_text("actors: [ann]\n")


def test_exported_ids_are_stable_and_since_and_paging_cut_them(store: CatalogStore) -> None:
    from recommender import record_completion

    catalog = current_catalog(store)
    for module in ("m1", "m2", "m1"):
        record_completion(store, catalog, "ann", module, 0.5)
    events = store.events()
    first = export_statements(events).statements
    assert [s["id"] for s in first] == [s["id"] for s in export_statements(events).statements]
    assert len({s["id"] for s in first}) == 3  # equal events keep distinct ids
    page = export_statements(events, limit=2)
    assert len(page.statements) == 2 and page.after == events[1].id
    rest = export_statements(events, after=page.after, limit=2)
    assert [s["id"] for s in page.statements + rest.statements] == [s["id"] for s in first]
    assert rest.after is None
    assert export_statements(events, since="2999-01-01T00:00:00Z").statements == []
    with pytest.raises(ValueError, match="not an ISO 8601"):
        export_statements(events, since="last week")
    for statement in first:  # what we give out is what we take in
        assert check_statement(statement)[1] == []
    assert run(store, first).already_imported == 3 and len(store.events()) == 3
