"""Property: a cycle's CSV import answers any file with a report or with faults a person can
act on, never with a traceback."""

from __future__ import annotations

import csv as csvlib
import io
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from recommender import current_catalog, load_catalog
from recommender.cycles.csv_import import ImportFile, ImportInvalidError, import_results
from recommender.errors import RecommenderError
from recommender.state.sqlite import CatalogStore
from tests.recommender.test_cycles import write_catalog

COLUMNS = st.sampled_from(
    ["employee", "Employee ID", "phase", "skill", "module", "score", "max_score", "taken_at",
     "relevance", "clarity", "pace", "comment", "session", "attended", "date", "name", "",
     "score ", "EMPLOYEE"]
)  # fmt: skip
CELL = st.one_of(
    st.sampled_from(
        ["ann", "bob", "cid", "zed", "pre", "post", "opt", "clean", "m1", "15", "20", "-3",
         "1e400", "nan", "inf", "0,825", "85%", "strongly agree", "yes", "no", "present",
         "2024-03-04", "2024-02-30", "s1", "", " "]
    ),
    st.text(max_size=12),
)  # fmt: skip
ROWS = st.lists(st.lists(CELL, max_size=8), max_size=8)
# Rows that import (or nearly): the shapes a quiz tool exports, a cell now and then wrong.
GOOD_HEADER = ["employee", "phase", "skill", "score", "max_score"]
GOOD_ROW = st.tuples(
    st.sampled_from(["ann", "bob", "cid"]),
    st.sampled_from(["pre", "post"]),
    st.sampled_from(["opt", "clean", "eval"]),
    st.integers(0, 20).map(str),
    st.just("20"),
).map(list)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogStore]:
    home = tmp_path_factory.mktemp("csv")
    with CatalogStore.open(home / "home") as opened:
        load_catalog(opened, write_catalog(home / "catalog"))
        yield opened


def _csv(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    out = io.StringIO()
    writer = csvlib.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.one_of(st.lists(COLUMNS, min_size=0, max_size=8), st.just(GOOD_HEADER)),
    rows=st.one_of(ROWS, st.lists(GOOD_ROW, min_size=1, max_size=6)),
    delimiter=st.sampled_from([",", ";", "\t"]),
    kind=st.sampled_from([None, "assessment", "survey", "attendance"]),
)
def test_any_rows_import_or_give_faults_naming_their_line(
    store: CatalogStore, header: list[str], rows: list[list[str]], delimiter: str, kind: str | None
) -> None:
    """Whatever the columns and cells (unknown people, bad numbers, ragged rows, blanks),
    the import returns its report or raises `ImportInvalidError`, whose every fault names
    the file and a line or column; nothing else escapes."""
    data = _csv(header, rows, delimiter)
    try:
        reports = import_results(
            store, current_catalog(store), "c1", [ImportFile("r.csv", data)], kind
        )
    except ImportInvalidError as exc:
        event("faults")
        assert exc.faults
        for fault in exc.faults:
            assert fault.file == "r.csv" and fault.entry and fault.message
    else:
        event("imported")
        assert [r.file for r in reports] == ["r.csv"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_clear_error_not_a_traceback(store: CatalogStore, data: bytes) -> None:
    """Bytes that are no CSV at all (binary, not UTF-8, empty) are faults too, or a
    recommender error with a sentence; never an exception of the csv module or a decoder."""
    try:
        import_results(store, current_catalog(store), "c1", [ImportFile("x.csv", data)])
    except RecommenderError as exc:
        assert str(exc).strip()
