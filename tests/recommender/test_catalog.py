"""Catalogue validation (every fault named, all at once), the store, and events across reloads."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from recommender import (
    CatalogInvalidError,
    NoCatalogError,
    current_catalog,
    employee_gaps,
    load_catalog,
    load_catalog_dir,
    next_module,
    plan_modules,
    record_completion,
    validate_catalog,
)
from recommender.state.base import now_iso
from recommender.state.events import Event
from recommender.state.sqlite import CatalogStore

CATALOGS = Path(__file__).parents[1] / "catalogs"
SAMPLE = Path(__file__).parents[2] / "data" / "sample" / "catalog"


def faults_of(directory: Path) -> list[str]:
    with pytest.raises(CatalogInvalidError) as info:
        load_catalog_dir(directory)
    return [str(f) for f in info.value.faults]


@pytest.mark.parametrize(
    "expected",
    [
        "skills.yaml: skill 'opt': duplicate skill id 'opt' (entries 1 and 3)",
        "teams.yaml: team 'core': targets: level 7 of 'opt' out of range 0..5",
        "teams.yaml: team 'ops': targets: unknown skill 'sorcery'",
        "courses.yaml: course 'orphan': unknown team 'marketing'",
        "courses.yaml: course 'loop', module 'm4': prerequisites: unknown module 'm-missing'",
        "courses.yaml: course 'loop', module 'm4': format 'seminar' must be one of",
        "courses.yaml: course 'loop', module 'm1': prerequisite cycle: m1 -> m3 -> m2 -> m1",
        "employees.yaml: employee 'e1': duplicate employee id 'e1' (entries 1 and 3)",
        "employees.yaml: employee 'e1': completed: unknown module 'm9'",
        "employees.yaml: employee 'e2': unknown team 'nowhere'",
        "employees.yaml: employee 'e3': skills: level -1 of 'clean' out of range 0..5",
        "employees.yaml: employee 'e3': completed: score 1.5 of 'm5' must be in 0..1",
    ],
)
def test_each_fault_is_named_with_file_and_entry(expected: str) -> None:
    assert any(f.startswith(expected) for f in faults_of(CATALOGS / "faulty"))


def test_all_faults_are_reported_not_just_the_first() -> None:
    assert len(faults_of(CATALOGS / "faulty")) == 12


def test_the_test_catalogues_and_the_sample_are_valid() -> None:
    for directory in (CATALOGS / "small", SAMPLE):
        load_catalog_dir(directory)


def _raw(directory: Path) -> dict[str, object]:
    return {
        k: yaml.safe_load((directory / f"{k}.yaml").read_text())
        for k in ("skills", "teams", "courses", "employees")
    }


def test_self_prerequisite_is_a_cycle() -> None:
    raw = _raw(CATALOGS / "small")
    raw["courses"][0]["modules"][0]["prerequisites"] = ["m-opt"]  # type: ignore[index]
    faults = [str(f) for f in validate_catalog(raw)]
    assert any("prerequisite cycle: m-opt -> m-opt" in f for f in faults)


def test_two_separate_cycles_are_both_named() -> None:
    raw = _raw(CATALOGS / "small")
    modules = raw["courses"][0]["modules"]  # type: ignore[index]
    modules[0]["prerequisites"] = ["m-serve"]  # m-opt <-> m-serve
    raw["courses"][1]["modules"][0]["prerequisites"] = ["m-deep"]  # type: ignore[index]
    cycles = [str(f) for f in validate_catalog(raw) if "cycle" in str(f)]
    assert len(cycles) == 2
    assert any("m-opt -> m-serve -> m-opt" in c for c in cycles)
    assert any("m-deep -> m-deep" in c for c in cycles)


def test_unknown_field_suggests_the_right_name() -> None:
    raw = _raw(CATALOGS / "small")
    raw["courses"][0]["modules"][0]["prerequisite"] = []  # type: ignore[index]
    faults = [str(f) for f in validate_catalog(raw)]
    assert any("unknown field 'prerequisite' (did you mean 'prerequisites'?)" in f for f in faults)


def test_missing_file_and_bad_yaml_are_faults(tmp_path: Path) -> None:
    shutil.copytree(CATALOGS / "small", tmp_path / "cat")
    (tmp_path / "cat" / "teams.yaml").unlink()
    (tmp_path / "cat" / "skills.yaml").write_text("- {id: [unclosed\n")
    faults = faults_of(tmp_path / "cat")
    assert any(f.startswith("teams.yaml: file: missing") for f in faults)
    assert any(f.startswith("skills.yaml: file: not valid YAML") for f in faults)


def test_sample_catalogue_has_the_promised_shape() -> None:
    catalog, _ = load_catalog_dir(SAMPLE)
    assert len(catalog.skills) >= 12 and len(catalog.teams) == 4
    assert len(catalog.courses) == 4 and len(catalog.modules) >= 12
    assert len(catalog.employees) == 20
    assert set(catalog.teams) == {"nlp", "recsys", "mlops", "support-ai"}
    assert any(m.prerequisites for m in catalog.modules.values())
    assert catalog.weight("model-optimisation") == catalog.weight("hyperparameter-tuning") == 1.5
    assert catalog.weight("algorithm-innovation") == 1.5
    assert catalog.weight("text-preprocessing") == catalog.weight("data-cleaning") == 1.0
    assert catalog.weight("vector-search") == 0.5
    assert next_module(catalog, "priya-raman").status == "no-gaps"
    assert next_module(catalog, "sam-novak").status == "blocked"
    newcomer = catalog.employee("noor-haddad")
    assert not newcomer.has_history and next_module(catalog, "noor-haddad").option is not None


# -- store -------------------------------------------------------------------------------------


def test_questions_before_any_load_say_what_to_do(tmp_path: Path) -> None:
    with (
        CatalogStore.open(tmp_path) as store,
        pytest.raises(NoCatalogError, match="kb catalog load"),
    ):
        current_catalog(store)


def test_a_faulty_catalogue_leaves_the_previous_one_in_force(tmp_path: Path) -> None:
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, CATALOGS / "small")
        before = current_catalog(store)
        with pytest.raises(CatalogInvalidError):
            load_catalog(store, CATALOGS / "faulty")
        assert current_catalog(store) == before
    with CatalogStore.open(tmp_path) as store:  # and so it is on disk, for the next process
        assert set(current_catalog(store).employees) == set(before.employees)


def test_store_uses_wal_and_lives_in_the_home_folder(tmp_path: Path) -> None:
    with CatalogStore.open(tmp_path) as store:
        assert store.path == tmp_path / "catalog.sqlite"
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:  # the mode is the file's
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_events_survive_a_catalogue_reload_and_are_applied_again(tmp_path: Path) -> None:
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, CATALOGS / "small")
        record_completion(store, current_catalog(store), "alice", "m-opt", score=1.0)
        store.add_event(
            Event(kind="rating", employee="alice", doc_id="doc-1", rating=4, created_at=now_iso())
        )
    with CatalogStore.open(tmp_path) as store:
        report = load_catalog(store, CATALOGS / "small")
        assert (report.events_applied, report.events_skipped) == (2, 0)
        alice = current_catalog(store).employee("alice")
        assert alice.level("opt") == 3 and "m-opt" in alice.completed_modules
        assert alice.ratings == {"doc-1": 4}
        assert employee_gaps(current_catalog(store), "alice").gaps[0].skill == "clean"


def test_events_for_people_no_longer_in_the_catalogue_are_kept_but_skipped(
    tmp_path: Path,
) -> None:
    shutil.copytree(CATALOGS / "small", tmp_path / "cat")
    with CatalogStore.open(tmp_path) as store:
        load_catalog(store, tmp_path / "cat")
        record_completion(store, current_catalog(store), "newbie", "m-opt")
        people = yaml.safe_load((tmp_path / "cat" / "employees.yaml").read_text())
        people = [p for p in people if p["id"] != "newbie"]
        (tmp_path / "cat" / "employees.yaml").write_text(yaml.safe_dump(people))
        report = load_catalog(store, tmp_path / "cat")
        assert report.events_skipped == 1
        assert len(store.events()) == 1


def _chain_catalog(directory: Path, length: int, *, closed: bool = False) -> Path:
    """The small catalogue's skills and teams with one course of `length` modules, each
    requiring the next (the last requires the first when `closed`)."""
    for name in ("skills", "teams"):
        shutil.copy(CATALOGS / "small" / f"{name}.yaml", directory / f"{name}.yaml")
    modules = [
        {
            "id": f"c{i}",
            "title": f"Step {i}",
            "format": "lecture",
            "hours": 1,
            "skills": {"opt": 1 + i % 5},
            "prerequisites": [f"c{i + 1}"] if i + 1 < length else (["c0"] if closed else []),
        }
        for i in range(length)
    ]
    courses = [{"id": "chain", "title": "Chain", "team": "core", "modules": modules}]
    (directory / "courses.yaml").write_text(yaml.safe_dump(courses))
    employees = [{"id": "e", "name": "E", "team": "core", "skills": {"opt": 0}}]
    (directory / "employees.yaml").write_text(yaml.safe_dump(employees))
    return directory


def test_a_prerequisite_chain_of_3000_modules_loads_and_plans(tmp_path: Path) -> None:
    """Cycle detection and prerequisite order walk the graph without recursion (networkx):
    a chain far deeper than Python's recursion limit loads, and a plan over it starts at the
    one module that needs nothing."""
    catalog, _ = load_catalog_dir(_chain_catalog(tmp_path, 3000))
    assert len(catalog.modules) == 3000
    assert plan_modules(catalog, "e", 1).module_ids == ["c2999"]


def test_a_cycle_through_3000_modules_is_reported_with_its_modules_named(
    tmp_path: Path,
) -> None:
    """A cycle of any length is one fault, on its first module, naming every module in it."""
    faults = faults_of(_chain_catalog(tmp_path, 3000, closed=True))
    assert len(faults) == 1
    expected = " -> ".join(f"c{i}" for i in [*range(3000), 0])
    assert faults[0] == (
        f"courses.yaml: course 'chain', module 'c0': prerequisite cycle: {expected} "
        "(each requires the next)"
    )
