"""The questions only the knowledge graph answers (see `recommender.graph.build` for the graph):

1. `learning_path`: the shortest path of modules from a person's levels to a target;
2. `experts`: the experts and authors nearest a topic;
3. `bottlenecks`: skills many modules rely on but few people can teach;
4. `bridges`: documents that link courses of different teams.

Each takes a viewer's `KnowledgeGraph`, so its answers never name what the viewer may not see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import networkx as nx

from recommender.catalog.types import LEVEL_MAX, LEVEL_MIN
from recommender.errors import InvalidValueError, UnknownIdError
from recommender.graph.build import KnowledgeGraph, node_id, node_key
from recommender.rules.colleagues import STRONG_LEVEL
from recommender.rules.feedback import completed_level
from recommender.rules.materials import TopicSearch

if TYPE_CHECKING:
    pass

TEACH_LEVEL = 4  # a person at this level or above could teach the skill
AUTHOR_SCORE = 1.0  # an expert's score for writing a hit (one hop from it) ...
SKILL_SCORE = 0.5  # ... and, at most, for a level in one of its skills (two hops)


# -- question 1: the shortest path of modules -------------------------------------------------
@dataclass(frozen=True)
class PathStep:
    """One module of a learning path; `level_after` is the skill's level once it is completed
    (with a full score, as `kb complete` raises levels)."""

    module: str
    title: str
    course: str
    hours: float
    cumulative_hours: float
    level_after: int
    reason: str


@dataclass(frozen=True)
class PathOption:
    """Another final module that reaches the target, and the hours its path would take."""

    module: str
    title: str
    hours: float
    modules: int


@dataclass(frozen=True)
class LearningPath:
    """The fewest training hours from a person's levels to a skill level, prerequisites first.

    status: "ok" (the steps), "reached" (already at the level) or "unreachable" (no module
    teaches the skill that far).
    """

    person: str
    name: str
    skill: str
    skill_name: str
    current: int
    target: int
    status: Literal["ok", "reached", "unreachable"]
    steps: tuple[PathStep, ...]
    total_hours: float
    alternatives: tuple[PathOption, ...]
    reason: str


def _prerequisite_graph(graph: nx.DiGraph) -> nx.DiGraph:
    modules = [n for n, k in graph.nodes(data="kind") if k == "module"]
    dag = nx.DiGraph()
    dag.add_nodes_from(modules)
    dag.add_edges_from(
        (u, v) for u, v, k in graph.edges(data="kind") if k == "prerequisite" and u in dag
    )
    return dag


def learning_path(
    kg: KnowledgeGraph, person: str, skill: str, level: int | None = None
) -> LearningPath:
    """The modules that take `person` (an employee id) to `level` in `skill` in the fewest
    training hours (fewest modules on a tie, then catalogue order), prerequisites included.

    The default level is the person's target (personal over team), else one above today's.
    A completed module counts as done, and so do its prerequisites; the path is one final
    module that teaches the skill at least to the level, with every prerequisite not yet
    completed before it (all of them are needed, so the only choice is the final module), in
    prerequisite order. Raises `UnknownIdError` for an unknown person or skill and
    `InvalidValueError` for a level outside 1..5.
    """
    catalog = kg.require_catalog()
    employee = catalog.employee(person)
    if skill not in catalog.skills:
        raise UnknownIdError("skill", skill)
    current = employee.level(skill)
    if level is None:
        target_of = catalog.target(employee, skill)
        level = target_of[0] if target_of is not None else min(current + 1, LEVEL_MAX)
    if not LEVEL_MIN < level <= LEVEL_MAX:
        raise InvalidValueError(f"level must be between 1 and {LEVEL_MAX}, not {level}")
    name = catalog.skills[skill].name
    reached = LearningPath(
        person=employee.id,
        name=employee.name,
        skill=skill,
        skill_name=name,
        current=current,
        target=level,
        status="reached",
        steps=(),
        total_hours=0.0,
        alternatives=(),
        reason=f"already at level {current} in {name} (asked {level})",
    )
    if current >= level:
        return reached
    graph = kg.graph
    done = {node_id("module", m) for m in employee.completed_modules}
    dag = _prerequisite_graph(graph)
    open_dag = dag.subgraph(n for n in dag if n not in done)
    target_node = node_id("skill", skill)
    finals = [
        m
        for m, _, data in graph.in_edges(target_node, data=True)
        if data["kind"] == "teaches" and data.get("level", 0) >= level and m not in done
    ]
    if not finals:
        why = (
            f"no module left to take teaches {name} to level {level}"
            f" (the highest taught is {_highest(graph, target_node)})"
        )
        return replace(reached, status="unreachable", reason=why)
    order = {m: graph.nodes[m].get("order", 0) for m in dag}
    options = []
    for final in finals:
        needed = nx.ancestors(open_dag, final) | {final}
        hours = sum(float(graph.nodes[m].get("hours", 0.0)) for m in needed)
        options.append((hours, len(needed), order[final], final, needed))
    options.sort(key=lambda o: o[:3])
    _, _, _, final, needed = options[0]
    steps = _steps(graph, open_dag.subgraph(needed), final, target_node, current, order)
    alternatives = tuple(
        PathOption(node_key(f), str(graph.nodes[f]["label"]), h, n)
        for h, n, _, f, _ in options[1:4]
    )
    total = steps[-1].cumulative_hours
    why = (
        f"{len(steps)} module(s), {total:g} h, from level {current} to "
        f"{steps[-1].level_after} in {name} (asked {level})"
    )
    return replace(
        reached,
        status="ok",
        steps=steps,
        total_hours=total,
        alternatives=alternatives,
        reason=why,
    )


def _steps(
    graph: nx.DiGraph,
    needed: nx.DiGraph,
    final: str,
    skill_node: str,
    current: int,
    order: Mapping[str, int],
) -> tuple[PathStep, ...]:
    """The modules of `needed` in prerequisite order (catalogue order between independent ones),
    with the hours so far and the skill's level after each."""
    name = graph.nodes[skill_node]["label"]
    steps = []
    spent = 0.0
    reached = current
    for m in nx.lexicographical_topological_sort(needed, key=order.get):
        data = graph.nodes[m]
        spent += float(data.get("hours", 0.0))
        taught = graph.edges[m, skill_node]["level"] if graph.has_edge(m, skill_node) else 0
        reached = completed_level(reached, taught, 1.0)
        notes = []
        if m != final:
            leads = sorted(node_key(n) for n in needed.successors(m))
            notes.append(f"prerequisite of {', '.join(leads)}")
        if taught:
            notes.append(f"teaches {name} to level {taught}")
        steps.append(
            PathStep(
                module=node_key(m),
                title=str(data["label"]),
                course=str(data.get("course", "")),
                hours=float(data.get("hours", 0.0)),
                cumulative_hours=spent,
                level_after=reached,
                reason="; ".join(notes),
            )
        )
    return tuple(steps)


def _highest(graph: nx.DiGraph, skill_node: str) -> int:
    levels = [
        data.get("level", 0)
        for _, _, data in graph.in_edges(skill_node, data=True)
        if data["kind"] == "teaches"
    ]
    return max(levels, default=0)


# -- question 2: experts and authors nearest a topic -------------------------------------------
@dataclass(frozen=True)
class SkillLevel:
    skill: str
    level: int


@dataclass(frozen=True)
class Expert:
    """A person near a topic: `distance` 1 when they wrote a matching document, 2 when they
    reach one through a skill it covers. `score` is rounded to 4 decimals."""

    person: str  # node id: person:<employee id> or author:<name>
    employee: str | None
    name: str
    team: str | None
    score: float
    distance: int
    authored: tuple[str, ...]  # doc ids of matching documents they wrote
    skills: tuple[SkillLevel, ...]  # their levels (>= STRONG_LEVEL) in the documents' skills
    reason: str


@dataclass(frozen=True)
class ExpertsAnswer:
    topic: str
    documents: tuple[str, ...]  # the matching documents walked from, best first
    experts: tuple[Expert, ...]


def experts(
    kg: KnowledgeGraph,
    source: TopicSearch,
    topic: str,
    k: int = 10,
    documents: int = 10,
    viewer_teams: tuple[str, ...] | None = None,
) -> ExpertsAnswer:
    """People nearest `topic`: search the knowledge base for it, then walk the graph from each
    matching document (rank r weighs 1/r) to its author (+1 x weight) and to the people at
    level >= 3 in the skills it covers (+0.5 x level/5 x weight, their best such skill).

    Only documents in `kg` count, so the search and the graph answer for the same viewer.
    """
    from kb import SearchFilters

    filters = SearchFilters(viewer_teams=viewer_teams)
    hits = source.search(topic, k=documents, filters=filters)
    graph = kg.graph
    seen: list[str] = []
    for hit in hits:
        node = node_id("document", hit.doc_id)
        if node in graph and node not in seen:
            seen.append(node)
    scores: dict[str, float] = {}
    distance: dict[str, int] = {}
    authored: dict[str, list[str]] = {}
    levels: dict[str, dict[str, int]] = {}
    for rank, doc in enumerate(seen, start=1):
        weight = 1.0 / rank
        for author, _, kind in graph.in_edges(doc, data="kind"):
            if kind == "wrote":
                scores[author] = scores.get(author, 0.0) + AUTHOR_SCORE * weight
                distance[author] = 1
                authored.setdefault(author, []).append(node_key(doc))
        best: dict[str, int] = {}
        for _, skill, kind in graph.out_edges(doc, data="kind"):
            if kind != "covers":
                continue
            for person, _, data in graph.in_edges(skill, data=True):
                lvl = int(data.get("level", 0))
                if data["kind"] == "has_level" and lvl >= STRONG_LEVEL:
                    best[person] = max(best.get(person, 0), lvl)
                    mine = levels.setdefault(person, {})
                    mine[node_key(skill)] = lvl
        for person, lvl in best.items():
            scores[person] = scores.get(person, 0.0) + SKILL_SCORE * lvl / LEVEL_MAX * weight
            distance.setdefault(person, 2)
    found = []
    for person, score in scores.items():
        data = graph.nodes[person]
        wrote = tuple(authored.get(person, ()))
        strong = tuple(
            SkillLevel(s, lvl)
            for s, lvl in sorted(levels.get(person, {}).items(), key=lambda x: (-x[1], x[0]))
        )
        parts = []
        if wrote:
            titles = ", ".join(repr(graph.nodes[node_id("document", d)]["label"]) for d in wrote)
            parts.append(f"wrote {titles}")
        if strong:
            parts.append("level " + ", ".join(f"{s.level} in {s.skill}" for s in strong))
        found.append(
            Expert(
                person=person,
                employee=data.get("employee") or None,
                name=str(data["label"]),
                team=data.get("team"),
                score=round(score, 4),
                distance=distance[person],
                authored=wrote,
                skills=strong,
                reason="; ".join(parts),
            )
        )
    found.sort(key=lambda e: (-e.score, e.distance, e.name))
    return ExpertsAnswer(topic, tuple(node_key(d) for d in seen), tuple(found[:k]))


# -- question 3: skills many modules rely on but few people can teach ---------------------------
@dataclass(frozen=True)
class Bottleneck:
    """A skill that `modules` rely on (teach it, or come after a module that does) and that
    `teachers` could teach (level >= `TEACH_LEVEL`, or trainers of its modules).
    `pressure` = modules / (teachers + 1), rounded to 4 decimals."""

    skill: str
    name: str
    weight: float
    modules: tuple[str, ...]
    teaching: tuple[str, ...]
    teachers: tuple[str, ...]  # person node ids: person:<employee id>, trainer:<name>
    pressure: float
    reason: str


def bottlenecks(
    kg: KnowledgeGraph, min_modules: int = 2, teach_level: int = TEACH_LEVEL
) -> list[Bottleneck]:
    """Skills relied on by at least `min_modules` modules, highest pressure first (then the
    skill's weight, then its id): the ones to train trainers in.

    A module relies on a skill when it teaches it or when one of its prerequisites, at any
    depth, does (its descendants in the prerequisite graph).
    """
    graph = kg.graph
    dag = _prerequisite_graph(graph)
    out = []
    for skill in (n for n, k in graph.nodes(data="kind") if k == "skill"):
        teaching = sorted(
            (m for m, _, k in graph.in_edges(skill, data="kind") if k == "teaches"),
            key=lambda m: graph.nodes[m].get("order", 0),
        )
        relying = set(teaching)
        for m in teaching:
            relying |= nx.descendants(dag, m)
        if len(relying) < max(1, min_modules):
            continue
        teachers = {
            p
            for p, _, data in graph.in_edges(skill, data=True)
            if data["kind"] == "has_level" and data.get("level", 0) >= teach_level
        }
        teachers |= {
            p for m in teaching for p, _, k in graph.in_edges(m, data="kind") if k == "trained"
        }
        data = graph.nodes[skill]
        names = sorted(str(graph.nodes[p]["label"]) for p in teachers)
        who = ", ".join(names) if names else "nobody"
        modules = tuple(
            node_key(m) for m in sorted(relying, key=lambda m: graph.nodes[m].get("order", 0))
        )
        out.append(
            Bottleneck(
                skill=node_key(skill),
                name=str(data["label"]),
                weight=float(data.get("weight", 0.0)),
                modules=modules,
                teaching=tuple(node_key(m) for m in teaching),
                teachers=tuple(sorted(teachers)),
                pressure=round(len(relying) / (len(teachers) + 1), 4),
                reason=f"{len(relying)} module(s) rely on it ({len(teaching)} teach it); "
                f"{len(teachers)} could teach it (level >= {teach_level}): {who}",
            )
        )
    out.sort(key=lambda b: (-b.pressure, -b.weight, b.skill))
    return out


# -- question 4: documents that link courses of different teams -----------------------------------
@dataclass(frozen=True)
class CourseLink:
    """How a document reaches a course: "course" (filed under it), "module" (filed under one
    of its modules), "material" (a module names it), "skill:<id>" (it covers a skill the
    course teaches)."""

    course: str
    title: str
    team: str
    via: tuple[str, ...]


@dataclass(frozen=True)
class Bridge:
    """A document linking courses of `teams` (two or more); `direct` when course, module or
    material links alone reach two teams."""

    doc_id: str
    title: str
    team: str | None
    teams: tuple[str, ...]
    courses: tuple[CourseLink, ...]
    direct: bool
    reason: str


def bridges(kg: KnowledgeGraph, by_skill: bool = True) -> list[Bridge]:
    """Documents that link courses of different teams: material to share across teams.

    With `by_skill`, covering a skill that a course's modules teach links the document to that
    course too. Direct bridges first, then by number of teams and courses, then title.
    """
    graph = kg.graph
    teaches: dict[str, set[str]] = {}  # skill -> courses teaching it
    for m, s, k in graph.edges(data="kind"):
        if k == "teaches":
            course = graph.nodes[m].get("course")
            if course:
                teaches.setdefault(s, set()).add(node_id("course", course))
    out = []
    for doc in (n for n, k in graph.nodes(data="kind") if k == "document"):
        links: dict[str, list[str]] = {}
        for _, target, data in graph.out_edges(doc, data=True):
            kind = data["kind"]
            if kind == "in_course":
                links.setdefault(target, []).append("course")
            elif kind == "for_module":
                course = graph.nodes[target].get("course")
                ways = str(data.get("via", "")).split(",")
                if course and "metadata" in ways:
                    links.setdefault(node_id("course", course), []).append("module")
                if course and "material" in ways:
                    links.setdefault(node_id("course", course), []).append("material")
            elif kind == "covers" and by_skill:
                for course in teaches.get(target, ()):
                    links.setdefault(course, []).append(f"skill:{node_key(target)}")
        team_of = {c: str(graph.nodes[c].get("team", "")) for c in links}
        teams = sorted({t for t in team_of.values() if t})
        if len(teams) < 2:
            continue
        direct_teams = {
            team_of[c] for c, ways in links.items() if any(not w.startswith("skill:") for w in ways)
        }
        courses = tuple(
            CourseLink(node_key(c), str(graph.nodes[c]["label"]), team_of[c], _ways(w))
            for c, w in sorted(links.items())
        )
        data = graph.nodes[doc]
        reason = "; ".join(
            f"{link.course} ({link.team}) via {', '.join(link.via)}" for link in courses
        )
        out.append(
            Bridge(
                doc_id=node_key(doc),
                title=str(data["label"]),
                team=data.get("team"),
                teams=tuple(teams),
                courses=courses,
                direct=len({t for t in direct_teams if t}) >= 2,
                reason=reason,
            )
        )
    out.sort(key=lambda b: (not b.direct, -len(b.teams), -len(b.courses), b.title))
    return out


def _ways(ways: list[str]) -> tuple[str, ...]:
    """Each way once; course, module and material links before shared skills."""
    return tuple(sorted(dict.fromkeys(ways), key=lambda way: way.startswith("skill:")))
