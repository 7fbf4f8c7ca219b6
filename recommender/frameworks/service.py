"""The operations `kb catalog import-framework` / `map-framework` and the organisers' HTTP
routes share: import, propose, approve, reject, and the mapping as organisers see it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb import Embedder
from recommender.catalog.types import Catalog
from recommender.errors import InvalidValueError, RecommenderError, UnknownIdError
from recommender.frameworks.base import FrameworkStore
from recommender.frameworks.matching import SkillText, language_of, propose
from recommender.frameworks.reading import read_framework
from recommender.frameworks.terms import FrameworkTerms
from recommender.frameworks.types import Decision, Framework, Proposal
from recommender.state.base import now_iso


class NoFrameworkError(RecommenderError):
    """Asked about the mapping before any framework was imported."""

    def __init__(self) -> None:
        super().__init__(
            "no skills framework imported yet: run "
            "`kb catalog import-framework FILE --format esco|csv`"
        )


@dataclass(frozen=True)
class ImportReport:
    framework: dict[str, Any]
    dropped: list[str]  # catalogue skills whose approved framework skill is gone

    def to_dict(self) -> dict[str, Any]:
        return {"imported": True, "framework": self.framework, "dropped_decisions": self.dropped}


def import_framework(
    store: FrameworkStore,
    path: Path,
    fmt: str,
    *,
    name: str = "",
    languages: tuple[str, ...] = (),
) -> ImportReport:
    """Read the framework at `path` (all faults at once: `FrameworkInvalidError`) and make it
    the stored one; decisions whose framework skill it still has are kept."""
    framework = read_framework(path, fmt, name=name, languages=languages)
    dropped = store.save_framework(framework, now_iso())
    return ImportReport(framework.summary(), dropped)


def _framework(store: FrameworkStore) -> Framework:
    framework = store.framework()
    if framework is None:
        raise NoFrameworkError()
    return framework


def skill_texts(catalog: Catalog) -> list[SkillText]:
    return [
        SkillText(s.id, {language_of(s.name): s.name}, s.description, s.category)
        for s in catalog.skills.values()
    ]


def propose_mapping(
    store: FrameworkStore, catalog: Catalog, embedder: Embedder | None
) -> list[Proposal]:
    """Score every catalogue skill against the framework and keep the proposals (decisions
    already made stay)."""
    proposals = propose(skill_texts(catalog), _framework(store), embedder)
    store.save_proposals(proposals)
    return proposals


def approve_framework_skill(
    store: FrameworkStore, catalog: Catalog, skill: str, framework_id: str | None, by: str = ""
) -> Decision:
    """Map `skill` to `framework_id` (None: the proposal's first candidate)."""
    framework = _framework(store)
    if skill not in catalog.skills:
        raise UnknownIdError(
            "skill", skill, "see `kb catalog map-framework` for the catalogue's skills"
        )
    if framework_id is None:
        proposal = next((p for p in store.proposals() if p.skill == skill), None)
        if proposal is None or not proposal.candidates:
            raise InvalidValueError(
                f"no proposal for {skill} yet: run `kb catalog map-framework --propose`, "
                f"or give the framework skill ({skill}=FRAMEWORK_ID)"
            )
        framework_id = proposal.candidates[0].framework_id
    concept = framework.concept(framework_id)
    if concept is None or concept.kind != "skill":
        raise UnknownIdError(
            "framework skill", framework_id, f"it is not a skill of the framework {framework.name}"
        )
    decision = Decision(skill, "approved", framework_id, now_iso(), by)
    store.decide(decision)
    return decision


def reject_framework_skill(
    store: FrameworkStore, catalog: Catalog, skill: str, by: str = ""
) -> Decision:
    """Record that no framework skill fits `skill` (it keeps speaking the catalogue's terms)."""
    _framework(store)
    if skill not in catalog.skills:
        raise UnknownIdError("skill", skill)
    decision = Decision(skill, "rejected", None, now_iso(), by)
    store.decide(decision)
    return decision


def framework_terms(store: FrameworkStore) -> FrameworkTerms:
    """The approved mappings as `FrameworkTerms` (empty without a framework)."""
    return FrameworkTerms.of(store.framework(), store.decisions())


def mapping_view(store: FrameworkStore, catalog: Catalog) -> dict[str, Any]:
    """The mapping as organisers see it: per catalogue skill its status (approved, rejected,
    proposed, none), the approved framework skill and the proposal's candidates, each with
    its labels; and the framework's summary."""
    framework = _framework(store)
    proposals = {p.skill: p for p in store.proposals()}
    decisions = store.decisions()

    def concept(ident: str | None) -> dict[str, Any] | None:
        c = framework.concept(ident) if ident else None
        return None if c is None else {"id": c.id, "label": c.label("en"), "labels": dict(c.labels)}

    rows = []
    for skill in catalog.skills.values():
        decision = decisions.get(skill.id)
        proposal = proposals.get(skill.id)
        status = decision.status if decision else ("proposed" if proposal else "none")
        rows.append(
            {
                "skill": skill.id,
                "name": skill.name,
                "status": status,
                "framework_skill": concept(decision.framework_id if decision else None),
                "decided_at": decision.decided_at if decision else None,
                "decided_by": decision.by if decision else None,
                "candidates": [
                    {**c.to_dict(), **(concept(c.framework_id) or {})}
                    for c in (proposal.candidates if proposal else ())
                ],
            }
        )
    counts = {
        s: sum(1 for r in rows if r["status"] == s)
        for s in ("approved", "rejected", "proposed", "none")
    }
    return {"framework": framework.summary(), "counts": counts, "skills": rows}
