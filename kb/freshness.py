"""Freshness: how old a document is, whether it may be out of date, and the optional recency
weight in ranking. Pure functions over dates and the rule; no store, no catalogue, no clock
read where a caller gives `today`.

AI material goes stale fast. Every document has a date (`date_source` says where it came
from: "metadata" for front matter, a sidecar or the file's own properties, "file" for the
file's modification time at ingest; a Git source will add "commit"), and may have a
`review_by` date and an `owner` (an employee id). A document is *stale* when

1. it has a `review_by` date and today is past it, or
2. it is older than its threshold: the smallest of its skills' thresholds, where a skill
   without one of its own (the catalogue's `stale_after_days`) has the default
   (KB_STALE_AFTER_DAYS); a document with no skills has the default.

A date that cannot be read as a day (free text such as "spring 2024") makes no document
stale by age: nothing is claimed that the date does not say.

The recency weight (off by default: weight 0 is exactly fusion's ranking) multiplies each
fused score by `1 - w + w * 0.5 ** (age / half_life)`: a document of today keeps its score, one
a half-life old loses w/2 of it. See docs/freshness.md for what it was measured to cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, get_args

DateSource = Literal["metadata", "file", "commit"]
DATE_SOURCES: tuple[DateSource, ...] = get_args(DateSource)
StaleKind = Literal["review_by", "age"]

DEFAULT_STALE_AFTER_DAYS = 730
DEFAULT_HALF_LIFE_DAYS = 365.0
# The fused candidates the recency weight re-orders (the page always lies within them).
RECENCY_DEPTH = 50

_DAY = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def day_of(text: str | None) -> date | None:
    """The day a metadata date names: "2024-03-01" (a time after it ignored), "2024-03" and
    "2024" as their first day; None for anything else (free text, an impossible day)."""
    if not text:
        return None
    found = _DAY.match(text.strip())
    if found is None:
        return None
    year, month, day = found.groups()
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


@dataclass(frozen=True)
class Staleness:
    """Whether one document may be out of date, and why.

    kind: "review_by" (past its review date) or "age" (older than its threshold), None when
    fresh; reason: the same as one English sentence, for the CLI and JSON readers;
    age_days: days since its date (None: no readable date); threshold_days: the threshold
    applied, and threshold_skill the skill that set it (None: the default)."""

    stale: bool
    kind: StaleKind | None
    reason: str | None
    age_days: int | None
    threshold_days: int
    threshold_skill: str | None


@dataclass(frozen=True)
class FreshnessRule:
    """The staleness thresholds and the recency weight, as the settings and the catalogue give
    them (`api` builds it; kb only applies it).

    skill_days: skill id (any case) -> days, from the catalogue's `stale_after_days`;
    recency_weight: 0 (off, the default) to 1; today: the day to judge on (None: the real
    today; tests and benchmarks fix it)."""

    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS
    skill_days: Mapping[str, int] = field(default_factory=dict)
    recency_weight: float = 0.0
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    today: date | None = None

    def __post_init__(self) -> None:
        if self.stale_after_days < 1:
            raise ValueError("stale_after_days must be a positive number of days")
        if not 0.0 <= self.recency_weight <= 1.0:
            raise ValueError("recency_weight must be between 0 (off) and 1")
        if self.half_life_days <= 0:
            raise ValueError("half_life_days must be a positive number of days")
        # skills are matched without regard to case, as filters are
        object.__setattr__(
            self, "skill_days", {str(k).lower(): int(v) for k, v in self.skill_days.items()}
        )

    def day(self) -> date:
        return self.today or date.today()

    def threshold_for(self, skills: Sequence[str]) -> tuple[int, str | None]:
        """(days, the skill that set them or None): the smallest of the skills' thresholds, a
        skill without its own counting as the default."""
        best: tuple[int, str | None] | None = None
        for skill in skills:
            own = self.skill_days.get(skill.lower())
            mine = (self.stale_after_days, None) if own is None else (own, skill)
            if best is None or mine[0] < best[0]:
                best = mine
        return best or (self.stale_after_days, None)

    def judge(self, when: str | None, review_by: str | None, skills: Sequence[str]) -> Staleness:
        """The staleness of a document of date `when`, review date `review_by` and `skills`."""
        today = self.day()
        threshold, skill = self.threshold_for(skills)
        dated = day_of(when)
        age = None if dated is None else max(0, (today - dated).days)
        review = day_of(review_by)
        if review is not None and today > review:
            return Staleness(
                True,
                "review_by",
                f"past its review date ({review.isoformat()})",
                age,
                threshold,
                skill,
            )
        if age is not None and age > threshold:
            because = f"skill {skill}" if skill is not None else "the default"
            return Staleness(
                True,
                "age",
                f"{age:,} days old, over the {threshold:,} days allowed ({because})",
                age,
                threshold,
                skill,
            )
        return Staleness(False, None, None, age, threshold, skill)

    def recency_factor(self, when: str | None) -> float:
        """What the recency weight multiplies a document's fused score by: 1 with the weight
        off; a document without a readable date counts as a half-life old."""
        weight = self.recency_weight
        if weight <= 0.0:
            return 1.0
        dated = day_of(when)
        age = self.half_life_days if dated is None else max(0, (self.day() - dated).days)
        return 1.0 - weight + weight * 0.5 ** (age / self.half_life_days)


def reweight_by_recency(
    fused: Sequence[tuple[str, int, float]],
    date_of: Callable[[str], str | None],
    rule: FreshnessRule,
    depth: int = RECENCY_DEPTH,
) -> list[tuple[str, int, float]]:
    """`fused` (doc_id, chunk_id, score; best first) with the first `depth` scores multiplied
    by their recency factor and re-ordered (ties keep fusion's order); the rest follow as
    they were. With the weight off, `fused` itself, unchanged."""
    if rule.recency_weight <= 0.0:
        return list(fused)
    head = [
        (position, (doc_id, chunk_id, score * rule.recency_factor(date_of(doc_id))))
        for position, (doc_id, chunk_id, score) in enumerate(fused[:depth])
    ]
    head.sort(key=lambda item: (-item[1][2], item[0]))
    return [item for _, item in head] + list(fused[depth:])


__all__ = [
    "DATE_SOURCES",
    "DEFAULT_HALF_LIFE_DAYS",
    "DEFAULT_STALE_AFTER_DAYS",
    "RECENCY_DEPTH",
    "DateSource",
    "FreshnessRule",
    "Staleness",
    "StaleKind",
    "day_of",
    "reweight_by_recency",
]
