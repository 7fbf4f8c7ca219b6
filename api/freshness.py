"""Freshness as the interfaces see it: the rule built from the settings and the catalogue
(kb.freshness applies it to every hit), and what may be out of date, for both interfaces
(`GET /analytics/stale` and `kb stale --json` answer the same JSON)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

from api.http.models import StaleDocumentOut, StaleList, StaleSkillOut
from api.settings import Settings
from kb.freshness import FreshnessRule
from kb.types import DocumentInfo
from recommender import Catalog

log = logging.getLogger("api.freshness")

CatalogOf = Callable[[], Catalog | None]


def skill_thresholds(catalog: Catalog | None) -> dict[str, int]:
    """skill id -> its `stale_after_days`, for the skills of the catalogue that set one."""
    if catalog is None:
        return {}
    return {
        skill.id: skill.stale_after_days
        for skill in catalog.skills.values()
        if skill.stale_after_days is not None
    }


def freshness_rule(
    settings: Settings, catalog: Catalog | None, today: date | None = None
) -> FreshnessRule:
    """The rule of KB_STALE_AFTER_DAYS, KB_RECENCY_WEIGHT, KB_RECENCY_HALF_LIFE_DAYS and the
    catalogue's per-skill thresholds."""
    return FreshnessRule(
        stale_after_days=settings.stale_after_days,
        skill_days=skill_thresholds(catalog),
        recency_weight=settings.recency_weight,
        half_life_days=settings.recency_half_life_days,
        today=today,
    )


def freshness_source(settings: Settings, catalog_of: CatalogOf) -> Callable[[], FreshnessRule]:
    """What a searcher asks at each search (`Searcher.freshness_of`): the rule with the
    catalogue as `catalog_of` gives it now (None: no catalogue). A catalogue that cannot be
    read costs the per-skill thresholds, never the search (and is logged)."""

    def current() -> FreshnessRule:
        try:
            catalog = catalog_of()
        except Exception as exc:  # a search never fails for its freshness marks
            log.warning("freshness: the catalogue could not be read (%s); default only", exc)
            catalog = None
        return freshness_rule(settings, catalog)

    return current


def stale_listing(
    docs: Sequence[DocumentInfo],
    rule: FreshnessRule,
    catalog: Catalog | None = None,
    skill: str | None = None,
) -> StaleList:
    """The documents of `docs` past their review date or older than their threshold, grouped
    per skill (skills by id, documents without a skill last); in each group past review first,
    then the oldest first. `skill` (any case): that skill's group alone."""
    names = {} if catalog is None else {s.id.lower(): s.name for s in catalog.skills.values()}
    groups: dict[str | None, list[StaleDocumentOut]] = {}
    listed: set[str] = set()
    wanted = None if skill is None else skill.strip().lower()
    for doc in docs:
        judged = rule.judge(doc.date, doc.review_by, doc.skills)
        if not judged.stale or judged.kind is None or judged.reason is None:
            continue
        keys: list[str | None] = list(doc.skills) or [None]
        if wanted is not None:
            keys = [k for k in keys if k is not None and k.lower() == wanted]
        for key in keys:
            listed.add(doc.doc_id)
            groups.setdefault(key, []).append(
                StaleDocumentOut(
                    doc_id=doc.doc_id,
                    title=doc.title,
                    source=doc.source,
                    owner=doc.owner,
                    author=doc.author,
                    date=doc.date,
                    date_source=doc.date_source,
                    review_by=doc.review_by,
                    age_days=judged.age_days,
                    kind=judged.kind,
                    reason=judged.reason,
                )
            )
    skills = []
    for key in sorted(groups, key=lambda k: (k is None, (k or "").lower())):
        members = sorted(
            groups[key],
            key=lambda d: (d.kind != "review_by", -(d.age_days or 0), d.source),
        )
        skills.append(
            StaleSkillOut(
                skill=key,
                name=None if key is None else names.get(key.lower()),
                stale_after_days=rule.threshold_for([key] if key is not None else [])[0],
                documents=members,
            )
        )
    return StaleList(
        today=rule.day(),
        stale_after_days=rule.stale_after_days,
        total=len(listed),
        skills=skills,
    )


__all__ = ["freshness_rule", "freshness_source", "skill_thresholds", "stale_listing"]
