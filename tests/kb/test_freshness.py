"""The freshness rule (kb.freshness): when a document may be out of date, and what the recency
weight does to a ranking. Pure functions over dates; `today` is fixed so that nothing here
depends on the day the tests run."""

from __future__ import annotations

from datetime import date

import pytest

from kb.freshness import FreshnessRule, day_of, reweight_by_recency

TODAY = date(2026, 12, 1)
RULE = FreshnessRule(
    stale_after_days=730, skill_days={"LLM-Fine-Tuning": 365, "statistics": 3650}, today=TODAY
)


def test_a_metadata_date_is_read_as_its_day_and_free_text_as_no_day() -> None:
    assert day_of("2024-03-01") == date(2024, 3, 1)
    assert day_of("2024-03-01T10:00:00") == date(2024, 3, 1)
    assert day_of("2024-03") == date(2024, 3, 1)
    assert day_of("2024") == date(2024, 1, 1)
    assert day_of("spring 2024") is None
    assert day_of("2024-02-30") is None
    assert day_of(None) is None


def test_past_its_review_date_is_stale_however_recent() -> None:
    judged = RULE.judge("2026-11-01", "2026-11-30", ())
    assert judged.stale and judged.kind == "review_by"
    assert judged.reason == "past its review date (2026-11-30)"
    assert not RULE.judge("2026-11-01", "2026-12-01", ()).stale  # due today: not yet past


def test_older_than_the_default_is_stale() -> None:
    assert not RULE.judge("2024-12-01", None, ()).stale  # 730 days: not over
    judged = RULE.judge("2024-11-30", None, ())
    assert judged.stale and judged.kind == "age" and judged.age_days == 731
    assert judged.reason == "731 days old, over the 730 days allowed (the default)"


def test_a_skill_with_its_own_threshold_sets_it_without_regard_to_case() -> None:
    judged = RULE.judge("2025-11-01", None, ("llm-fine-tuning",))
    assert judged.stale and judged.threshold_days == 365
    assert judged.threshold_skill == "llm-fine-tuning"
    assert "skill llm-fine-tuning" in (judged.reason or "")


def test_the_smallest_threshold_of_the_documents_skills_applies() -> None:
    """A skill without a threshold of its own counts as the default: material on statistics
    (ten years) that is also about fine-tuning (one year) is judged by the year."""
    assert RULE.threshold_for(("statistics", "llm-fine-tuning")) == (365, "llm-fine-tuning")
    assert RULE.threshold_for(("statistics", "model-serving")) == (730, None)
    assert RULE.threshold_for(("statistics",)) == (3650, "statistics")
    assert not RULE.judge("2020-01-01", None, ("statistics",)).stale
    assert RULE.threshold_for(()) == (730, None)


def test_a_date_that_is_no_day_makes_nothing_stale_by_age() -> None:
    judged = RULE.judge("spring 2019", None, ())
    assert not judged.stale and judged.age_days is None
    assert RULE.judge("spring 2019", "2020-01-01", ()).stale  # its review date still counts


def test_the_rule_refuses_values_that_mean_nothing() -> None:
    with pytest.raises(ValueError, match="recency_weight"):
        FreshnessRule(recency_weight=1.5)
    with pytest.raises(ValueError, match="stale_after_days"):
        FreshnessRule(stale_after_days=0)


FUSED = [("old", 1, 0.032), ("new", 2, 0.031), ("undated", 3, 0.030), ("tail", 4, 0.001)]
DATES = {"old": "2022-12-01", "new": "2026-11-30", "undated": None, "tail": "2026-12-01"}


def test_the_recency_weight_off_is_fusions_ranking_exactly() -> None:
    assert reweight_by_recency(FUSED, DATES.get, RULE) == FUSED


def test_the_recency_weight_moves_recent_documents_up_within_the_head() -> None:
    rule = FreshnessRule(recency_weight=0.5, half_life_days=365, today=TODAY)
    assert rule.recency_factor("2026-12-01") == 1.0
    assert rule.recency_factor("2025-12-01") == pytest.approx(0.75)  # a half-life: loses w/2
    assert rule.recency_factor(None) == pytest.approx(0.75)  # no date: a half-life old
    ranked = reweight_by_recency(FUSED, DATES.get, rule, depth=3)
    assert [doc for doc, _, _ in ranked] == ["new", "undated", "old", "tail"]
    assert ranked[-1] == FUSED[-1]  # past the depth: as fusion left it
