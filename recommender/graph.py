"""The knowledge graph: skills, modules, courses, documents, people and teams as one NetworkX
graph, and the questions only a graph answers.

Nodes are named ``<kind>:<id>``: ``team:nlp``, ``course:nlp-sentiment``, ``module:nlp-features``,
``skill:model-evaluation``, ``document:<doc id>``, ``person:<employee id>``; an author who is not
an employee is ``author:<name>`` (kind ``person``). Every node has ``kind`` and ``label``; the
other attributes are scalars (so that GraphML can hold them). Edges, source -> target:

=================  =========================  ==========================================
kind               source -> target           attributes
=================  =========================  ==========================================
``owns``           team -> course
``contains``       course -> module
``prerequisite``   module -> module           the first is a prerequisite of the second
``teaches``        module -> skill            ``level`` the module brings a learner to
``member_of``      person -> team
``has_level``      person -> skill            ``level`` (1..5; level 0 is no edge)
``trained``        person -> module           a trainer, when the catalogue names cycles
``wrote``          person -> document
``covers``         document -> skill
``in_course``      document -> course
``for_module``     document -> module         ``via``: metadata, material or both
``from_team``      document -> team
=================  =========================  ==========================================

Visibility is enforced by construction: a viewer's graph is built from the documents that
viewer may see (`kb.types.visible_to`), so a restricted document, and any node that only it
named, is never in it. `GraphCache` keeps the graphs current as documents and events arrive,
rebuilding only when the knowledge base's version, the number of events or the catalogue
changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

import networkx as nx

from recommender.catalog import LEVEL_MAX, LEVEL_MIN, Catalog
from recommender.colleagues import STRONG_LEVEL
from recommender.errors import InvalidValueError, NoCatalogError, UnknownIdError
from recommender.feedback import completed_level
from recommender.state import current_catalog
from recommender.store import RecommenderStore

if TYPE_CHECKING:
    from kb import Hit, SearchFilters
    from kb.types import Document

NodeKind = Literal["team", "course", "module", "skill", "person", "document"]
NODE_KINDS: tuple[NodeKind, ...] = ("team", "course", "module", "skill", "person", "document")
TEACH_LEVEL = 4  # a person at this level or above could teach the skill
AUTHOR_SCORE = 1.0  # an expert's score for writing a hit (one hop from it) ...
SKILL_SCORE = 0.5  # ... and, at most, for a level in one of its skills (two hops)


def node_id(kind: str, key: str) -> str:
    """The graph's name for a catalogue or knowledge-base id: ``skill:model-evaluation``."""
    return f"{kind}:{key}"


def _key(node: str) -> str:
    return node.split(":", 1)[1]


def _normal_name(name: str) -> str:
    return " ".join(name.split()).casefold()


# -- building -----------------------------------------------------------------------------------
class _Builder:
    def __init__(self) -> None:
        self.g: nx.DiGraph = nx.DiGraph()

    def node(self, node: str, kind: NodeKind, label: str, **attrs: Any) -> str:
        """Add `node` (or fill in the attributes it lacks); None values are left out."""
        values = {k: v for k, v in attrs.items() if v is not None}
        if node in self.g:
            current = self.g.nodes[node]
            for name, value in values.items():
                current.setdefault(name, value)
        else:
            self.g.add_node(node, kind=kind, label=label or _key(node), **values)
        return node

    def edge(self, source: str, target: str, kind: str, **attrs: Any) -> None:
        self.g.add_edge(source, target, kind=kind, **{k: v for k, v in attrs.items() if v})

    def team(self, team_id: str) -> str:
        return self.node(node_id("team", team_id), "team", team_id, team=team_id)

    def course(self, course_id: str) -> str:
        return self.node(node_id("course", course_id), "course", course_id)

    def skill(self, skill_id: str) -> str:
        return self.node(node_id("skill", skill_id), "skill", skill_id, in_catalogue=False)


def _add_catalog(b: _Builder, catalog: Catalog) -> None:
    for team in catalog.teams.values():
        b.node(node_id("team", team.id), "team", team.name, team=team.id)
    for skill in catalog.skills.values():
        b.node(
            node_id("skill", skill.id),
            "skill",
            skill.name,
            category=skill.category,
            weight=float(skill.weight),
            in_catalogue=True,
        )
    for course in catalog.courses.values():
        b.node(node_id("course", course.id), "course", course.title, team=course.team)
        b.edge(b.team(course.team), node_id("course", course.id), "owns")
    for module in catalog.modules.values():
        m = b.node(
            node_id("module", module.id),
            "module",
            module.title,
            course=module.course,
            team=module.team,
            hours=float(module.hours),
            format=module.format,
            order=module.order,
        )
        b.edge(node_id("course", module.course), m, "contains")
        for skill_id, level in module.skills.items():
            b.edge(m, b.skill(skill_id), "teaches", level=level)
    for module in catalog.modules.values():
        for prerequisite in module.prerequisites:
            b.edge(node_id("module", prerequisite), node_id("module", module.id), "prerequisite")
    for employee in catalog.employees.values():
        p = b.node(
            node_id("person", employee.id),
            "person",
            employee.name,
            employee=employee.id,
            team=employee.team,
        )
        b.edge(p, b.team(employee.team), "member_of")
        for skill_id, level in employee.skills.items():
            if level > LEVEL_MIN:
                b.edge(p, b.skill(skill_id), "has_level", level=level)
    # Trainers: a catalogue with training cycles names who taught which modules (read with
    # getattr: cycles are newer than the graph, and a catalogue without them has none).
    people = _people(catalog)
    for cycle in (getattr(catalog, "cycles", None) or {}).values():
        for trainer in getattr(cycle, "trainers", ()) or ():
            person = _person(b, str(trainer), people, "trainer")
            for module in getattr(cycle, "modules", ()) or ():
                if node_id("module", str(module)) in b.g:
                    b.edge(person, node_id("module", str(module)), "trained")


def _people(catalog: Catalog | None) -> dict[str, str]:
    """An employee's normalised name, or id, -> the employee id (names win over ids)."""
    people: dict[str, str] = {}
    if catalog is None:
        return people
    for employee in catalog.employees.values():
        people.setdefault(_normal_name(employee.id), employee.id)
    for employee in catalog.employees.values():
        people[_normal_name(employee.name)] = employee.id
    return people


def _person(b: _Builder, who: str, people: Mapping[str, str], role: str) -> str:
    """The employee named `who` (by name or id), else a person node of its own:
    ``author:<name>`` or ``trainer:<name>``, kind person, no employee id."""
    employee = people.get(_normal_name(who))
    if employee is not None:
        return node_id("person", employee)
    return b.node(node_id(role, who), "person", who, employee="")


def _materials(catalog: Catalog) -> dict[str, list[str]]:
    """Each module's `materials` entry (a tag, a source or a doc id) -> the modules naming it."""
    named: dict[str, list[str]] = {}
    for module in catalog.modules.values():
        for ref in module.materials:
            named.setdefault(ref, []).append(module.id)
    return named


def _add_document(
    b: _Builder,
    doc: Document,
    catalog: Catalog | None,
    materials: Mapping[str, list[str]],
    people: Mapping[str, str],
) -> None:
    d = b.node(
        node_id("document", doc.doc_id),
        "document",
        doc.title or doc.source,
        doc_id=doc.doc_id,
        source=doc.source,
        type=doc.type,
        team=doc.team,
        course=doc.course,
        module=doc.module,
        author=doc.author,
        date=doc.date,
        tags=", ".join(doc.tags) or None,
        restricted=bool(doc.visibility),
    )
    for skill in dict.fromkeys(doc.skills):
        b.edge(d, b.skill(skill), "covers")
    if doc.team:
        b.edge(d, b.team(doc.team), "from_team")
    if doc.course:
        b.edge(d, b.course(doc.course), "in_course")
    via: dict[str, list[str]] = {}
    if doc.module and catalog is not None and doc.module in catalog.modules:
        via.setdefault(doc.module, []).append("metadata")
    for ref in dict.fromkeys((*doc.tags, doc.source, doc.doc_id)):
        for module in materials.get(ref, ()):
            if "material" not in via.get(module, []):
                via.setdefault(module, []).append("material")
    for module, ways in via.items():
        b.edge(d, node_id("module", module), "for_module", via=",".join(ways))
    if doc.author:
        b.edge(_person(b, doc.author, people, "author"), d, "wrote")


def build_graph(catalog: Catalog | None, documents: Iterable[Document]) -> nx.DiGraph:
    """The graph of a catalogue (None: documents only) and these documents, as they are.

    Trusts its input: pass only the documents the graph's reader may see (`GraphCache` and
    `graph_for` do). An author is the employee of that name (or id) when there is one.
    """
    b = _Builder()
    materials: dict[str, list[str]] = {}
    if catalog is not None:
        _add_catalog(b, catalog)
        materials = _materials(catalog)
    people = _people(catalog)
    for doc in sorted(documents, key=lambda d: d.doc_id):
        _add_document(b, doc, catalog, materials, people)
    return b.g


@dataclass(frozen=True)
class KnowledgeGraph:
    """One viewer's graph and the catalogue it was built from (None when none is loaded)."""

    graph: nx.DiGraph
    catalog: Catalog | None

    def require_catalog(self) -> Catalog:
        if self.catalog is None:
            raise NoCatalogError()
        return self.catalog

    def nodes_of(self, kind: NodeKind) -> list[str]:
        return [n for n, k in self.graph.nodes(data="kind") if k == kind]


def graph_for(
    catalog: Catalog | None, documents: Iterable[Document], viewer_teams: tuple[str, ...] | None
) -> KnowledgeGraph:
    """The graph that a viewer in `viewer_teams` (None: a trusted caller) may see."""
    visible = [d for d in documents if d.visible_to(viewer_teams)]
    return KnowledgeGraph(build_graph(catalog, visible), catalog)


# -- views ----------------------------------------------------------------------------------
def without_private_levels(graph: nx.DiGraph, me: str | None) -> nx.DiGraph:
    """A copy without other people's levels below `STRONG_LEVEL`: expertise is shown to every
    key (as "who to ask" shows it), the rest only to organisers and to the person (`me`)."""
    out = graph.copy()
    mine = node_id("person", me) if me else None
    out.remove_edges_from(
        [
            (u, v)
            for u, v, data in graph.edges(data=True)
            if data["kind"] == "has_level" and u != mine and data.get("level", 0) < STRONG_LEVEL
        ]
    )
    return out


def _find(graph: nx.DiGraph, kind: NodeKind, ident: str) -> str:
    node = node_id(kind, ident)
    if node in graph:
        return node
    if kind == "person":  # an author by name, or an employee by name
        wanted = _normal_name(ident)
        for n, data in graph.nodes(data=True):
            if data["kind"] == "person" and _normal_name(str(data["label"])) == wanted:
                return str(n)
    raise UnknownIdError("employee" if kind == "person" else kind, ident)


def focus(
    graph: nx.DiGraph,
    team: str | None = None,
    skill: str | None = None,
    person: str | None = None,
) -> nx.DiGraph:
    """The part of `graph` around a team, a skill or a person (all given: what they share).

    - team: its courses, modules, members and documents (its own, or filed under its courses),
      with the skills and authors they connect to;
    - skill: the modules that teach it, the people with a level in it, the documents covering it;
    - person (an employee id, or an author's name): their team, skills, documents and modules.

    The nodes named are always kept; `UnknownIdError` for one the graph does not hold.
    """
    chosen: list[set[str]] = []
    kept: set[str] = set()
    undirected = graph.to_undirected(as_view=True)
    if team is not None:
        t = _find(graph, "team", team)
        core = {n for n, value in graph.nodes(data="team") if value == team}
        for n in list(core):
            if graph.nodes[n]["kind"] in ("course", "module"):
                core |= {d for d in graph.predecessors(n) if graph.nodes[d]["kind"] == "document"}
        around = {
            m
            for n in core
            for m in undirected.neighbors(n)
            if graph.nodes[m]["kind"] in ("skill", "person")
        }
        chosen.append(core | around)
        kept.add(t)
    for kind, ident in (("skill", skill), ("person", person)):
        if ident is not None:
            n = _find(graph, kind, ident)  # type: ignore[arg-type]
            chosen.append({n, *undirected.neighbors(n)})
            kept.add(n)
    if not chosen:
        return graph
    nodes = set.intersection(*chosen) | kept
    return graph.subgraph(nodes).copy()


def node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """The graph as node-link JSON (`networkx.node_link_data`, links under "edges")."""
    data: dict[str, Any] = nx.node_link_data(graph, edges="edges")
    return data


def graphml(graph: nx.DiGraph) -> str:
    """The graph as GraphML (XML), readable by Gephi, yEd, Cytoscape and `networkx.read_graphml`."""
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


# -- the cache ----------------------------------------------------------------------------------
class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


class DocumentLister(Protocol):
    """What the graph needs from the knowledge base (`kb.KnowledgeBase` satisfies it): its
    documents, and its store's version, which every committed write of any process bumps."""

    @property
    def store(self) -> _Versioned: ...

    def list_documents(self, filters: SearchFilters | None = None) -> Sequence[Document]: ...


def _catalog_digest(raw: Mapping[str, Any] | None) -> str:
    if raw is None:
        return "none"
    text = json.dumps(raw, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Generation:
    key: tuple[int, int, str]
    catalog: Catalog | None
    documents: list[Document]
    views: OrderedDict[tuple[str, ...] | None, KnowledgeGraph]


class GraphCache:
    """Graphs per viewer, rebuilt only when what they are built from changed.

    The key is (the knowledge base's version, the number of events, a digest of the stored
    catalogue), read before the data, so a write that lands in between is caught by the next
    call; the catalogue is `current_catalog`'s (every event applied). Each viewer's set of
    teams has its own graph (the last `views` of them are kept).
    Thread-safe: one build at a time.
    """

    def __init__(self, views: int = 32) -> None:
        self._views = views
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self.builds = 0  # graphs built, for tests and logs

    def get(
        self,
        kb: DocumentLister,
        store: RecommenderStore,
        viewer_teams: tuple[str, ...] | None,
    ) -> KnowledgeGraph:
        """The current graph for a viewer in `viewer_teams` (None: sees every document)."""
        raw = store.load_raw()
        events = store.events()
        key = (kb.store.version, len(events), _catalog_digest(raw))
        teams = None if viewer_teams is None else tuple(sorted(set(viewer_teams)))
        with self._lock:
            generation = self._generation
            if generation is None or generation.key != key:
                catalog = None if raw is None else current_catalog(store)
                documents = list(kb.list_documents(None))
                generation = _Generation(key, catalog, documents, OrderedDict())
                self._generation = generation
            view = generation.views.get(teams)
            if view is None:
                view = graph_for(generation.catalog, generation.documents, teams)
                view.graph.graph.update({"kb_version": key[0], "events": key[1]})
                self.builds += 1
                generation.views[teams] = view
                while len(generation.views) > self._views:
                    generation.views.popitem(last=False)
            else:
                generation.views.move_to_end(teams)
            return view


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
        PathOption(_key(f), str(graph.nodes[f]["label"]), h, n) for h, n, _, f, _ in options[1:4]
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
            leads = sorted(_key(n) for n in needed.successors(m))
            notes.append(f"prerequisite of {', '.join(leads)}")
        if taught:
            notes.append(f"teaches {name} to level {taught}")
        steps.append(
            PathStep(
                module=_key(m),
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
class TopicSearch(Protocol):
    """The knowledge base's search (or a `VisibleSource` that limits it to a viewer)."""

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]: ...


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
                authored.setdefault(author, []).append(_key(doc))
        best: dict[str, int] = {}
        for _, skill, kind in graph.out_edges(doc, data="kind"):
            if kind != "covers":
                continue
            for person, _, data in graph.in_edges(skill, data=True):
                lvl = int(data.get("level", 0))
                if data["kind"] == "has_level" and lvl >= STRONG_LEVEL:
                    best[person] = max(best.get(person, 0), lvl)
                    mine = levels.setdefault(person, {})
                    mine[_key(skill)] = lvl
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
    return ExpertsAnswer(topic, tuple(_key(d) for d in seen), tuple(found[:k]))


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
            _key(m) for m in sorted(relying, key=lambda m: graph.nodes[m].get("order", 0))
        )
        out.append(
            Bottleneck(
                skill=_key(skill),
                name=str(data["label"]),
                weight=float(data.get("weight", 0.0)),
                modules=modules,
                teaching=tuple(_key(m) for m in teaching),
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
                    links.setdefault(course, []).append(f"skill:{_key(target)}")
        team_of = {c: str(graph.nodes[c].get("team", "")) for c in links}
        teams = sorted({t for t in team_of.values() if t})
        if len(teams) < 2:
            continue
        direct_teams = {
            team_of[c] for c, ways in links.items() if any(not w.startswith("skill:") for w in ways)
        }
        courses = tuple(
            CourseLink(_key(c), str(graph.nodes[c]["label"]), team_of[c], _ways(w))
            for c, w in sorted(links.items())
        )
        data = graph.nodes[doc]
        reason = "; ".join(
            f"{link.course} ({link.team}) via {', '.join(link.via)}" for link in courses
        )
        out.append(
            Bridge(
                doc_id=_key(doc),
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


def graph_summary(graph: nx.DiGraph) -> dict[str, dict[str, int]]:
    """How many nodes of each kind and edges of each kind."""
    nodes: dict[str, int] = {}
    for _, kind in graph.nodes(data="kind"):
        nodes[kind] = nodes.get(kind, 0) + 1
    edges: dict[str, int] = {}
    for _, _, kind in graph.edges(data="kind"):
        edges[kind] = edges.get(kind, 0) + 1
    return {"nodes": nodes, "edges": edges}
