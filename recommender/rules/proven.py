"""Modules ranked by the gain they proved: from cycles' assessments before and after.

Each participant with both a pre- and a post-assessment of the same skill (or module) in a
cycle gives one measured gain in levels: (post share - pre share) x the level the assessment
measures up to (the level the cycle's modules teach in that skill, or the module's own level
for a row per module). A skill row is credited to the one module of the cycle that teaches
the skill; when several of the cycle's modules teach it, the gain cannot be told apart
between them and is left out of the per-module figures (counted as `shared`).

For each (module, skill): the mean gain, its 95% confidence interval (Student's t over the
participants' gains, `scipy.stats`), the sample size, and the gain per participant hour (the
mean over the module's hours). The same, restricted to one team, answers "for colleagues
like me".

**Evidence threshold** (`EvidenceRule`): a module has *proved a gain* in a skill when at least
`min_participants` (8) participants were measured and the lower end of the 95% interval is
above `min_gain` (0.25 levels); it has proved *near-zero gain* when at least as many were
measured, the interval covers 0 and the mean is within +-`near_zero` (0.5 levels). Anything
else is "not enough evidence" and changes nothing in the recommendations. This is a pre-post
gain with no control group: it includes what people would have learned anyway and retest
effects, so it ranks modules against each other better than it measures any one in absolute
terms.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from recommender.catalog.types import Catalog
from recommender.state.base import RecommenderStore
from recommender.state.current import current_catalog
from recommender.state.events import Event

Verdict = Literal["proven", "near-zero", "not-enough"]


@dataclass(frozen=True)
class EvidenceRule:
    """When a measured gain is strong enough to change a recommendation (documented in
    docs/evaluation.md)."""

    min_participants: int = 8
    min_gain: float = 0.25  # levels: the lower end of the 95% interval must be above this
    near_zero: float = 0.5  # levels: |mean| within this, the interval covering 0
    confidence: float = 0.95


DEFAULT_RULE = EvidenceRule()


@dataclass(frozen=True)
class GainObservation:
    """One participant's measured gain in one skill after one module."""

    module: str
    skill: str
    employee: str
    team: str
    cycle: str
    gain: float  # levels


@dataclass(frozen=True)
class ModuleGain:
    """A module's measured gain in one skill, over one group of learners."""

    module: str
    skill: str
    team: str | None  # None: every learner measured
    n: int
    mean: float
    low: float | None  # the 95% interval (None with fewer than 2 participants)
    high: float | None
    hours: float
    verdict: Verdict

    @property
    def per_hour(self) -> float:
        return self.mean / self.hours if self.hours else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "skill": self.skill,
            "team": self.team,
            "participants": self.n,
            "gain": round(self.mean, 4),
            "ci95": None if self.low is None else [round(self.low, 4), round(self.high or 0, 4)],
            "hours": self.hours,
            "gain_per_hour": round(self.per_hour, 4),
            "verdict": self.verdict,
        }

    def describe(self, catalog: Catalog) -> str:
        """`raised feature engineering by 1.2 levels for 14 colleagues in support-ai`."""
        skill = catalog.skills[self.skill].name.lower() if self.skill in catalog.skills else ""
        who = f"{self.n} colleagues" + (f" in {self.team}" if self.team else "")
        if self.verdict == "near-zero":
            return f"raised {skill or self.skill} by {self.mean:.1f} levels for {who} (near zero)"
        return f"raised {skill or self.skill} by {self.mean:.1f} levels for {who}"


def observations(catalog: Catalog, events: Iterable[Event]) -> tuple[list[GainObservation], int]:
    """Every measured gain (latest result of each key), and how many were shared between
    several modules of a cycle (left out)."""
    latest: dict[tuple[Any, ...], Event] = {}
    for event in events:
        if event.kind != "assessment" or event.details.get("followup"):
            continue
        target = event.module or f"skill:{event.details.get('skill', '')}"
        latest[(event.cycle, event.employee, target, event.details.get("phase"))] = event
    out: list[GainObservation] = []
    shared = 0
    for (cycle_id, employee_id, target, phase), post in latest.items():
        if phase != "post":
            continue
        pre = latest.get((cycle_id, employee_id, target, "pre"))
        cycle = catalog.cycles.get(cycle_id or "")
        employee = catalog.employees.get(employee_id)
        if pre is None or cycle is None or employee is None:
            continue
        delta = (post.score or 0.0) - (pre.score or 0.0)
        if post.module:
            module = catalog.modules.get(post.module)
            if module is None:
                continue
            for skill, level in module.skills.items():
                out.append(
                    GainObservation(
                        module.id, skill, employee.id, employee.team, cycle.id, delta * level
                    )
                )
            continue
        skill = str(post.details.get("skill", ""))
        teaching = [
            m
            for m in cycle.modules
            if m in catalog.modules and catalog.modules[m].skills.get(skill)
        ]
        if len(teaching) != 1:
            shared += bool(teaching)
            continue
        level = catalog.modules[teaching[0]].skills[skill]
        out.append(
            GainObservation(teaching[0], skill, employee.id, employee.team, cycle.id, delta * level)
        )
    return out, shared


def interval(gains: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """The mean's two-sided interval: mean +- t(n-1) x sd / sqrt(n), the quantile from
    `scipy.stats.t` (what `ttest_1samp(...).confidence_interval` gives, without its warning
    on gains that are nearly all equal); None with fewer than 2 values."""
    if len(gains) < 2:
        return None, None
    from scipy import stats  # scipy comes with scikit-learn; loaded only when measuring

    n = len(gains)
    mean = sum(gains) / n
    sd = math.sqrt(sum((g - mean) ** 2 for g in gains) / (n - 1))
    if sd <= 1e-9 * max(1.0, abs(mean)):  # every gain the same (to rounding): no spread
        return mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def verdict_of(
    n: int, mean: float, low: float | None, high: float | None, rule: EvidenceRule
) -> Verdict:
    if n < rule.min_participants or low is None or high is None:
        return "not-enough"
    if low > rule.min_gain:
        return "proven"
    if low <= 0 <= high and abs(mean) <= rule.near_zero:
        return "near-zero"
    return "not-enough"


def _estimate(
    catalog: Catalog,
    module: str,
    skill: str,
    team: str | None,
    gains: Sequence[float],
    rule: EvidenceRule,
) -> ModuleGain:
    mean = sum(gains) / len(gains)
    low, high = interval(gains, rule.confidence)
    hours = catalog.modules[module].hours if module in catalog.modules else 0.0
    return ModuleGain(
        module,
        skill,
        team,
        len(gains),
        mean,
        low,
        high,
        hours,
        verdict_of(len(gains), mean, low, high, rule),
    )


@dataclass(frozen=True)
class GainEvidence:
    """Every module's measured gains, over everyone and per team; what `kb next` and plans
    consult (`for_learner`)."""

    overall: Mapping[tuple[str, str], ModuleGain]
    by_team: Mapping[tuple[str, str, str], ModuleGain]
    shared: int
    rule: EvidenceRule

    def for_learner(self, module: str, skill: str, team: str) -> ModuleGain | None:
        """The evidence that counts for a learner of `team`: their team's when it is strong
        either way, else everyone's; None when nobody was measured."""
        mine = self.by_team.get((module, skill, team))
        if mine is not None and mine.verdict != "not-enough":
            return mine
        return self.overall.get((module, skill))

    def ranked(self) -> list[ModuleGain]:
        """Every (module, skill) over everyone, by gain per participant hour, best first."""
        return sorted(self.overall.values(), key=lambda g: (-g.per_hour, g.module, g.skill))

    def near_zero(self) -> list[ModuleGain]:
        return [g for g in self.ranked() if g.verdict == "near-zero"]

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "rule": {
                "min_participants": r.min_participants,
                "min_gain": r.min_gain,
                "near_zero": r.near_zero,
                "confidence": r.confidence,
            },
            "modules": [g.to_dict() for g in self.ranked()],
            "near_zero": [g.to_dict() for g in self.near_zero()],
            "by_team": [
                g.to_dict()
                for g in sorted(self.by_team.values(), key=lambda g: (g.team or "", -g.per_hour))
            ],
            "shared_observations": self.shared,
        }


def measure_gains(
    catalog: Catalog, events: Iterable[Event], rule: EvidenceRule = DEFAULT_RULE
) -> GainEvidence:
    """Each module's measured gain per skill, over everyone and per team (see the module)."""
    found, shared = observations(catalog, events)
    overall: dict[tuple[str, str], list[float]] = defaultdict(list)
    teams: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for o in found:
        overall[(o.module, o.skill)].append(o.gain)
        teams[(o.module, o.skill, o.team)].append(o.gain)
    return GainEvidence(
        {k: _estimate(catalog, k[0], k[1], None, v, rule) for k, v in overall.items()},
        {k: _estimate(catalog, k[0], k[1], k[2], v, rule) for k, v in teams.items()},
        shared,
        rule,
    )


NO_EVIDENCE = GainEvidence({}, {}, 0, DEFAULT_RULE)


Tier = Literal["proven", "unmeasured", "near-zero"]
TIER_ORDER: Mapping[str, int] = {"proven": 0, "unmeasured": 1, "near-zero": 2}


def module_evidence(
    evidence: GainEvidence, module: str, skills: Iterable[str], team: str
) -> tuple[Tier, tuple[ModuleGain, ...]]:
    """How a module's proven gains in `skills` (the gaps it would close) rank it for a learner
    of `team`: "proven" when it proved a gain in one of them, "near-zero" when it was measured
    near zero in every one, else "unmeasured" (not enough evidence: ranked as before)."""
    found = [g for s in skills if (g := evidence.for_learner(module, s, team)) is not None]
    strong = tuple(g for g in found if g.verdict != "not-enough")
    if any(g.verdict == "proven" for g in strong):
        return "proven", tuple(g for g in strong if g.verdict == "proven")
    skills = list(skills)
    if strong and len(strong) == len(skills):
        return "near-zero", strong
    return "unmeasured", ()


def evidence_text(catalog: Catalog, tier: Tier, gains: Sequence[ModuleGain]) -> str:
    """The clause a reason gains: "proved: raised ... for 14 colleagues in support-ai"."""
    if tier == "proven":
        return "proved: " + "; ".join(g.describe(catalog) for g in gains)
    if tier == "near-zero":
        return "measured near-zero gain: " + "; ".join(g.describe(catalog) for g in gains)
    return ""


def gain_evidence(store: RecommenderStore, rule: EvidenceRule = DEFAULT_RULE) -> GainEvidence:
    """The gains every module proved, from the store's catalogue and events."""
    return measure_gains(current_catalog(store), store.events(), rule)
