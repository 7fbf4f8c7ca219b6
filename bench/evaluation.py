"""Follow-up evaluation measured on planted effects (docs/evaluation.md, "Measured").

1. Modules ranked by proven gain: 100 seeded synthetic cohorts (tests/recommender/
   evaluation_cohort.py: three modules teaching feature engineering, 14 participants each,
   only `fe-planted` truly raising the skill, by 1 level). For each seed: does `fe-planted`
   rank first in `kb next` for a learner with that gap (it is the longest module and last in
   catalogue order, so it does not without evidence), does its 95% interval cover 1, and do
   the others' intervals cover 0.
2. Difference-in-differences: 100 seeded KPI panels (12 teams, 6 taking part, 13 weeks each
   side, a common drift) with a planted shift of 5 and with none: how often the interval
   covers the planted shift, how often it covers 0 with no shift, and the mean estimate.

Run: .venv/bin/python bench/evaluation.py [--runs 100]; writes bench/results/evaluation.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save  # noqa: E402

from recommender.catalog.types import build_catalog  # noqa: E402
from recommender.cycles.kpi import team_results  # noqa: E402
from recommender.rules.next_module import next_module  # noqa: E402
from recommender.rules.proven import measure_gains  # noqa: E402
from tests.recommender.evaluation_cohort import (  # noqa: E402
    PLANTED,
    SKILL,
    cohort,
    kpi_catalog,
    kpi_events,
    kpi_rows,
)

SHIFT = 5.0


def gains(runs: int) -> dict[str, object]:
    first = covered = others_cover_zero = others = proven = 0
    estimates = []
    for seed in range(runs):
        raw, events = cohort(seed)
        catalog = build_catalog(raw)
        evidence = measure_gains(catalog, events)
        planted = evidence.overall[(PLANTED, SKILL)]
        estimates.append(planted.mean)
        covered += planted.low is not None and planted.low <= 1.0 <= (planted.high or 0)
        proven += planted.verdict == "proven"
        for (module, _), g in evidence.overall.items():
            if module != PLANTED:
                others += 1
                others_cover_zero += g.low is not None and g.low <= 0 <= (g.high or 0)
        result = next_module(catalog, "newcomer", evidence=evidence)
        first += result.option is not None and result.option.module.id == PLANTED
    return {
        "runs": runs,
        "planted_ranked_first": first,
        "planted_ci95_covers_1": covered,
        "planted_proven_by_threshold": proven,
        "planted_mean_estimate": round(statistics.fmean(estimates), 4),
        "null_modules_ci95_cover_0": f"{others_cover_zero} of {others}",
    }


def did(runs: int) -> dict[str, object]:
    catalog = build_catalog(kpi_catalog())
    cycle = catalog.cycles["kpi-cycle"]
    out: dict[str, object] = {"runs": runs, "planted_shift": SHIFT}
    for label, shift in (("shift", SHIFT), ("no_shift", 0.0)):
        covers = 0
        estimates = []
        widths = []
        for seed in range(runs):
            (effect,) = team_results(catalog, cycle, kpi_events(kpi_rows(seed, shift))).metrics
            d = effect.did
            assert d.estimate is not None and d.low is not None and d.high is not None
            estimates.append(d.estimate)
            widths.append(d.high - d.low)
            covers += d.low <= shift <= d.high
        out[label] = {
            "ci95_covers_truth": covers,
            "mean_estimate": round(statistics.fmean(estimates), 4),
            "mean_ci_width": round(statistics.fmean(widths), 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    save(
        "evaluation",
        {"module_gains": gains(args.runs), "difference_in_differences": did(args.runs)},
    )


if __name__ == "__main__":
    main()
