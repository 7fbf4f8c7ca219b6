"""A skill's `stale_after_days` in skills.yaml (optional): how many days material on it stays
fresh (kb.freshness). A whole number of days, 1 or more; anything else is a fault that names
the skill."""

from __future__ import annotations

import copy

import pytest

from recommender import validate_catalog
from recommender.catalog.loading import read_catalog_dir
from recommender.catalog.types import build_catalog
from tests.conftest import SAMPLE

RAW = read_catalog_dir(SAMPLE / "catalog")


def test_the_sample_catalogue_keeps_llm_material_a_year() -> None:
    skills = build_catalog(RAW).skills
    assert skills["llm-fine-tuning"].stale_after_days == 365
    assert skills["prompt-engineering"].stale_after_days == 365
    assert skills["model-serving"].stale_after_days is None  # the service's default


@pytest.mark.parametrize("bad", [0, -5, 1.5, "a year", True])
def test_a_threshold_that_is_no_whole_number_of_days_is_a_fault(bad: object) -> None:
    raw = copy.deepcopy(RAW)
    raw["skills"][0]["stale_after_days"] = bad
    faults = validate_catalog(raw)
    assert [(f.file, f.message) for f in faults] == [
        (
            "skills.yaml",
            f"stale_after_days must be a whole number of days, 1 or more (365 for a year), "
            f"got {bad!r}",
        )
    ]
    assert build_catalog(RAW).skills[raw["skills"][0]["id"]].stale_after_days is None
