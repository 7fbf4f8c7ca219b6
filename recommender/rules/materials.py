"""Materials from the knowledge base for an employee's largest gaps.

Hybrid search driven by the skill and the level wanted next, plus the skill's metadata tags;
then diversified (one item per document, no near-duplicates), with what the employee already
rated or completed moved down, colleagues' ratings taken into account, and a share of other
teams' content kept when it is relevant: that sharing is the point of the programme.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from recommender.catalog.types import Catalog, Employee
from recommender.rules.collaborative import Neighbour, doc_opinion
from recommender.rules.gaps import SkillGap

if TYPE_CHECKING:
    from kb import DocumentInfo, Hit, SearchFilters


class TopicSearch(Protocol):
    """The knowledge base's search (or a `VisibleSource` that limits it to a viewer)."""

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]: ...


class MaterialSource(TopicSearch, Protocol):
    """What the recommender needs from the knowledge base; `kb.KnowledgeBase` satisfies it."""

    def get_document(self, doc_id: str) -> DocumentInfo | None: ...


LEVEL_PHRASES = {  # the level wanted next, in words a document at that level tends to use
    0: "introduction",
    1: "introduction basics",
    2: "practical guide",
    3: "hands-on worked example",
    4: "advanced techniques in depth",
    5: "expert research techniques",
}
GAPS_SEARCHED = 3
METADATA_BONUS = 0.5  # the document is tagged with the skill: an organiser vouched for it
RANK_DECAY = 0.3  # hybrid rank r scores 1 / (1 + 0.3 r)
MIN_SIMILARITY = 0.25  # dense cosine below which an untagged hit is off-topic
RELEVANT = 0.35  # similarity above which an untagged cross-team item is worth promoting
NEAR_DUPLICATE = 0.7  # Jaccard similarity of snippet words above which two items are one


def skill_query(catalog: Catalog, gap: SkillGap) -> str:
    """The search text for a gap: the skill, its description, and the level wanted next."""
    skill = catalog.skills[gap.skill]
    wanted = min(gap.current + 1, gap.target)
    text = f"{skill.name}: {LEVEL_PHRASES.get(wanted, '')}"
    if skill.description:
        text += f". {skill.description}"
    return text


@dataclass
class _Candidate:
    hit: Hit
    gap: SkillGap
    relevance: float
    tagged: bool
    similarity: float
    score: float = 0.0
    moved_down: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MaterialItem:
    """A suggested chunk of the knowledge base for one gap; score rounded to 4 decimals."""

    doc_id: str
    chunk_id: int
    title: str
    source: str
    location: str
    snippet: str
    team: str | None
    course: str | None
    module: str | None
    author: str | None
    skill: str
    score: float
    cross_team: bool
    moved_down: bool
    reason: str


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _group(hit: Hit) -> set[str]:
    """The hit's document and its near copies the reader may see (kb.dedupe: `also_in`)."""
    return {hit.doc_id, *(other.doc_id for other in getattr(hit, "also_in", ()))}


def _similar(a: _Candidate, b: _Candidate) -> bool:
    """One item in two: near copies of one document (a re-post counts once), the same
    title, or snippets that share most of their words."""
    if _group(a.hit) & _group(b.hit):
        return True
    if a.hit.title.strip().lower() == b.hit.title.strip().lower():
        return True
    wa, wb = _words(a.hit.snippet), _words(b.hit.snippet)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= NEAR_DUPLICATE


def _search(
    source: MaterialSource, catalog: Catalog, employee: Employee, gap: SkillGap, k: int
) -> list[_Candidate]:
    """Hybrid searches (skill-filtered, tag-filtered, open) gather candidates; each is scored by
    its best hybrid rank, its dense similarity to the query and whether it carries the skill.
    Untagged candidates that are not semantically close are dropped: a small corpus returns
    everything for any query, so a rank alone does not mean relevance."""
    from kb import SearchFilters

    query = skill_query(catalog, gap)
    viewer = (employee.team,)
    runs = [
        source.search(query, k=k, filters=SearchFilters(skill=gap.skill, viewer_teams=viewer)),
        source.search(query, k=k, filters=SearchFilters(tag=gap.skill, viewer_teams=viewer)),
        source.search(query, k=k, filters=SearchFilters(viewer_teams=viewer)),
    ]
    dense = {
        h.doc_id: h.score
        for h in source.search(
            query, k=3 * k, filters=SearchFilters(viewer_teams=viewer), mode="dense"
        )
    }
    best: dict[int, _Candidate] = {}
    for hits in runs:
        for rank, hit in enumerate(hits):
            tagged = gap.skill in hit.skills or gap.skill in hit.tags
            similarity = dense.get(hit.doc_id, 0.0)
            if not tagged and similarity < MIN_SIMILARITY:
                continue
            relevance = (
                1.0 / (1.0 + RANK_DECAY * rank) + similarity + (METADATA_BONUS if tagged else 0.0)
            )
            current = best.get(hit.chunk_id)
            if current is None or relevance > current.relevance:
                best[hit.chunk_id] = _Candidate(hit, gap, relevance, tagged, similarity)
    return list(best.values())


def _adjust(
    candidate: _Candidate,
    employee: Employee,
    gap_factor: float,
    neighbours: Sequence[Neighbour],
    liked_modules: dict[str, float],
) -> None:
    """Final score and the notes that explain it."""
    hit = candidate.hit
    score = candidate.relevance * gap_factor
    opinion, raters = doc_opinion(list(neighbours), hit.doc_id)
    if raters:
        score *= 1.0 + 0.3 * opinion
        shown = ", ".join(f"{name} {r}/5" for name, r in raters[:3])
        candidate.notes.append(f"rated by colleagues with profiles like yours ({shown})")
    affinity = liked_modules.get(hit.module or "", 0.0)
    if affinity and hit.doc_id not in employee.ratings:
        score *= 1.0 + 0.15 * affinity
        word = "liked" if affinity > 0 else "disliked"
        candidate.notes.append(f"you {word} other material of module {hit.module}")
    if hit.doc_id in employee.ratings:
        candidate.moved_down.append(f"you already rated it {employee.ratings[hit.doc_id]}/5")
    if hit.module and hit.module in employee.completed_modules:
        candidate.moved_down.append(f"it belongs to {hit.module}, which you completed")
    candidate.score = score


def _select(cands: list[_Candidate], k: int, per_doc: int) -> list[_Candidate]:
    chosen: list[_Candidate] = []
    per: dict[str, int] = {}
    for cand in cands:
        if len(chosen) == k:
            break
        if per.get(cand.hit.doc_id, 0) >= per_doc:
            continue
        if any(c.hit.doc_id != cand.hit.doc_id and _similar(c, cand) for c in chosen):
            continue
        if any(c.hit.chunk_id == cand.hit.chunk_id for c in chosen):
            continue
        chosen.append(cand)
        per[cand.hit.doc_id] = per.get(cand.hit.doc_id, 0) + 1
    return chosen


def _ensure_cross_team(
    chosen: list[_Candidate], pool: list[_Candidate], team: str, k: int
) -> list[_Candidate]:
    """Swap in relevant other-team items until about a quarter of the list comes from them."""
    quota = max(1, math.ceil(k / 4)) if k > 1 else 0

    def foreign(c: _Candidate) -> bool:
        return c.hit.team is not None and c.hit.team != team

    extra = [
        c
        for c in pool
        if foreign(c)
        and c not in chosen
        and (c.tagged or c.similarity >= RELEVANT)
        and not any(c.hit.doc_id == x.hit.doc_id or _similar(c, x) for x in chosen)
    ]
    while sum(foreign(c) for c in chosen) < quota and extra:
        pick = extra.pop(0)
        own = [c for c in chosen if not foreign(c)]
        if len(chosen) >= k:
            if not own:
                break
            chosen.remove(min(own, key=lambda c: (not c.moved_down, c.score)))
        pick.notes.append("kept for cross-team sharing")
        chosen.append(pick)
    return chosen


def recommend_materials(
    catalog: Catalog,
    employee: Employee,
    gaps: Sequence[SkillGap],
    source: MaterialSource,
    k: int = 10,
    neighbours: Sequence[Neighbour] = (),
) -> list[MaterialItem]:
    """Up to `k` materials for the largest open gaps, best first, each with its reason."""
    open_gaps = [g for g in gaps if g.gap > 0][:GAPS_SEARCHED]
    if not open_gaps or k <= 0:
        return []
    largest = max(g.weighted_gap for g in open_gaps)
    liked = _module_affinity(employee, source)
    pool: dict[int, _Candidate] = {}
    for gap in open_gaps:
        factor = 0.5 + 0.5 * gap.weighted_gap / largest
        for cand in _search(source, catalog, employee, gap, max(3 * k, 10)):
            _adjust(cand, employee, factor, neighbours, liked)
            if cand.hit.chunk_id not in pool or cand.score > pool[cand.hit.chunk_id].score:
                pool[cand.hit.chunk_id] = cand
    ranked = sorted(pool.values(), key=lambda c: (bool(c.moved_down), -c.score, c.hit.chunk_id))
    # the best item of each searched gap first, so that no large gap goes without material
    leaders = [next((c for c in ranked if c.gap.skill == g.skill), None) for g in open_gaps]
    firsts = [c for c in leaders if c is not None]
    ranked = firsts + [c for c in ranked if c not in firsts]
    chosen = _select(ranked, k, per_doc=1)
    if len(chosen) < k:
        chosen += [c for c in _select(ranked, k, per_doc=2) if c not in chosen][: k - len(chosen)]
    chosen = _ensure_cross_team(chosen, ranked, employee.team, k)
    chosen.sort(key=lambda c: (bool(c.moved_down), -c.score, c.hit.chunk_id))
    return [_item(catalog, employee, c) for c in chosen]


def _module_affinity(employee: Employee, source: MaterialSource) -> dict[str, float]:
    """Mean (rating - 3) / 2 of the employee's ratings per module: their taste, -1..1."""
    by_module: dict[str, list[float]] = {}
    for doc_id, rating in employee.ratings.items():
        doc = source.get_document(doc_id)
        if doc is not None and doc.module:
            by_module.setdefault(doc.module, []).append((rating - 3) / 2)
    return {m: sum(v) / len(v) for m, v in by_module.items()}


def _item(catalog: Catalog, employee: Employee, cand: _Candidate) -> MaterialItem:
    hit, gap = cand.hit, cand.gap
    cross = hit.team is not None and hit.team != employee.team
    parts = [
        f"for your gap in {catalog.skills[gap.skill].name} ({gap.current}->{gap.target}, "
        f"weight {gap.weight:g})",
        ("tagged with the skill" if cand.tagged else "matched by text")
        + f" (similarity {cand.similarity:.2f})",
    ]
    if cross:
        team = catalog.teams.get(hit.team or "")
        parts.append(f"shared by another team ({team.name if team else hit.team})")
    parts += cand.notes
    if cand.moved_down:
        parts.append("moved down: " + "; ".join(cand.moved_down))
    return MaterialItem(
        doc_id=hit.doc_id,
        chunk_id=hit.chunk_id,
        title=hit.title,
        source=hit.source,
        location=hit.location,
        snippet=hit.snippet,
        team=hit.team,
        course=hit.course,
        module=hit.module,
        author=hit.author,
        skill=gap.skill,
        score=round(cand.score, 4),
        cross_team=cross,
        moved_down=bool(cand.moved_down),
        reason="; ".join(parts),
    )
