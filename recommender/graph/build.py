"""The knowledge graph: skills, modules, courses, documents, people and teams as one NetworkX
graph (the questions only it answers are in `recommender.graph.questions`).

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import networkx as nx

from recommender.catalog.types import LEVEL_MIN, Catalog
from recommender.errors import NoCatalogError, UnknownIdError
from recommender.rules.colleagues import STRONG_LEVEL
from recommender.state.base import RecommenderStore
from recommender.state.current import current_catalog

if TYPE_CHECKING:
    from kb import SearchFilters
    from kb.types import Document

NodeKind = Literal["team", "course", "module", "skill", "person", "document"]
NODE_KINDS: tuple[NodeKind, ...] = ("team", "course", "module", "skill", "person", "document")


def node_id(kind: str, key: str) -> str:
    """The graph's name for a catalogue or knowledge-base id: ``skill:model-evaluation``."""
    return f"{kind}:{key}"


def node_key(node: str) -> str:
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
            self.g.add_node(node, kind=kind, label=label or node_key(node), **values)
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


def graph_summary(graph: nx.DiGraph) -> dict[str, dict[str, int]]:
    """How many nodes of each kind and edges of each kind."""
    nodes: dict[str, int] = {}
    for _, kind in graph.nodes(data="kind"):
        nodes[kind] = nodes.get(kind, 0) + 1
    edges: dict[str, int] = {}
    for _, _, kind in graph.edges(data="kind"):
        edges[kind] = edges.get(kind, 0) + 1
    return {"nodes": nodes, "edges": edges}
