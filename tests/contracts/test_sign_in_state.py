"""The catalogue's `sign_in.yaml` and a first sign-in's employee record on both backends: the
mapping comes back as loaded and maps groups the same way, and `add_employee` adds a person
once, keeps the rest of the catalogue, and refuses a team the catalogue lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from recommender import (
    CatalogInvalidError,
    NoCatalogError,
    add_employee,
    current_catalog,
    load_catalog,
)
from tests.contracts import BACKENDS
from tests.contracts.test_recommender_state import SAMPLE, Opener, opener_for

RULES = [
    {"group": "grp-nlp", "team": "nlp"},
    {"group": "ai-organisers", "role": "organiser"},
    {"group": "grp-recsys", "team": "recsys", "role": "employee"},
]


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return opener_for(request.param, tmp_path / "home", request)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(SAMPLE / "catalog", target)
    (target / "sign_in.yaml").write_text(yaml.safe_dump(RULES))
    return target


def test_the_mapping_comes_back_as_loaded_and_maps_groups(opener: Opener, folder: Path) -> None:
    with opener() as store:
        load_catalog(store, folder)
    with opener() as store:  # another connection, as another process
        catalog = current_catalog(store)
        raw = store.load_raw()
    assert raw is not None and raw["sign_in"] == RULES
    assert [r.group for r in catalog.sign_in] == ["grp-nlp", "ai-organisers", "grp-recsys"]
    both = catalog.map_groups(["grp-recsys", "ai-organisers", "grp-nlp"])
    assert (both.role, both.team) == ("organiser", "nlp")  # highest role, first team in file
    assert (catalog.map_groups(["other"]).role, catalog.map_groups([]).team) == ("employee", None)


def test_a_first_sign_in_adds_the_person_once(opener: Opener, folder: Path) -> None:
    with opener() as store:
        with pytest.raises(NoCatalogError):
            add_employee(store, "zoe-new", "Zoë New", "recsys")
        load_catalog(store, folder)
        before = current_catalog(store)
        assert add_employee(store, "zoe-new", "Zoë New", "recsys") is True
        assert add_employee(store, "zoe-new", "Zoë New", "nlp") is False
        with pytest.raises(CatalogInvalidError, match="unknown team 'nowhere'"):
            add_employee(store, "x-person", "X", "nowhere")
    with opener() as store:
        after = current_catalog(store)
    assert after.employees["zoe-new"].team == "recsys"
    assert after.employees["zoe-new"].name == "Zoë New"
    assert set(after.employees) == set(before.employees) | {"zoe-new"}
    assert after.sign_in == before.sign_in and after.modules == before.modules
