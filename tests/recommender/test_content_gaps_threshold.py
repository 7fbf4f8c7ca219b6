"""The "found nothing good" threshold (kb.search.quality): the calibration rule on a small
example worked by hand, and the thresholds in the code recomputed from the observations that
bench/gap_threshold.py recorded with the real model on the sample's labelled queries."""

from __future__ import annotations

import json
from pathlib import Path

from kb.search.quality import (
    THRESHOLDS,
    Observation,
    auc,
    calibrate,
    calibrate_one,
    found_something_good,
)

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "gap_threshold.json"


def test_the_rule_on_an_example_worked_by_hand() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    relevant = [True, True, False, True, False]
    # Good above bad in 5 of the 6 pairs (0.6 < 0.7 is the one miss).
    assert auc(scores, relevant) == 5 / 6
    # Cuts halfway between scores: 0.55 keeps 3/3 good and drops 1/2 bad (0.75 balanced);
    # 0.65: 2/3 and 1/2 (0.583); 0.75: 2/3 and 2/2 (0.833, the best); 0.85: 1/3 and 2/2.
    found = calibrate_one("dense", "en", scores, relevant)
    assert (found.threshold, found.balanced_accuracy, found.auc) == (0.75, 0.8333, 0.8333)
    assert (found.good_above, found.good_below, found.bad_below, found.bad_above) == (2, 1, 2, 0)


def test_no_threshold_where_the_score_does_not_tell() -> None:
    same = calibrate_one("hybrid", "zh", [1 / 61] * 4, [True, False, True, True])
    assert same.threshold is None and same.auc == 0.5 and same.good_above == 3
    backwards = calibrate_one("dense", "en", [0.9, 0.8, 0.2, 0.1], [False, False, True, True])
    assert backwards.threshold is None  # AUC 0: a low score is no sign of a bad search
    assert calibrate_one("x", "en", [0.3, 0.4], [True, True]).threshold is None  # no bad one


def test_the_thresholds_in_the_code_are_the_recorded_calibration() -> None:
    """Reproducible: the recorded observations give the recorded calibration again, and the
    code uses its thresholds (re-run bench/gap_threshold.py after a change of model)."""
    recorded = json.loads(RESULTS.read_text())
    observations = [
        Observation(row["mode"], row["language"], row["score"], row["relevant"])
        for row in recorded["observations"]
    ]
    assert len(observations) == 3 * recorded["queries"]  # every query in every mode
    again = calibrate(observations)
    assert [vars(c) for c in again] == recorded["calibrations"]
    assert {(c.mode, c.language): c.threshold for c in again} == dict(THRESHOLDS)
    assert recorded["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_found_something_good() -> None:
    assert found_something_good("hybrid", "drift alerts", 0.032787)  # both sides agree
    assert not found_something_good("hybrid", "drift alerts", 0.032522)
    assert found_something_good("hybrid", "漂移告警", 0.016393)  # no threshold for Chinese
    assert not found_something_good("hybrid", "漂移告警", None)  # no hit at all
    assert not found_something_good("lexical", "drift alerts", 9.5)
