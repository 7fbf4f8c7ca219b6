"""The knowledge graph on a small catalogue whose answers are worked out by hand below:
a path of modules, bottleneck skills, bridge documents, experts; visibility; the cache; the
node-link JSON and GraphML outputs."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from kb import Hit, SearchFilters
from kb.types import Document
from recommender import (
    Catalog,
    InvalidValueError,
    NoCatalogError,
    UnknownIdError,
    build_catalog,
    load_catalog,
    record_completion,
    validate_catalog,
)
from recommender.graph.build import (
    GraphCache,
    KnowledgeGraph,
    focus,
    graph_for,
    graphml,
    node_link,
    without_private_levels,
)
from recommender.graph.questions import bottlenecks, bridges, experts, learning_path
from recommender.state.sqlite import CatalogStore

# -- the worked example ---------------------------------------------------------------------------
# Prerequisites: m-data -> m-opt1 -> m-opt2; m-data -> m-eval; m-fast -> m-serve.
RAW: dict[str, Any] = {
    "skills": [
        {"id": "opt", "name": "Model optimisation", "category": "model optimisation"},
        {"id": "data", "name": "Data cleaning", "category": "data cleaning"},
        {"id": "eval", "name": "Evaluation", "category": "evaluation"},
        {"id": "serve", "name": "Serving", "category": "mlops"},
    ],
    "teams": [
        {"id": "core", "name": "Core ML", "targets": {"opt": 3}},
        {"id": "ops", "name": "ML Ops"},
    ],
    "courses": [
        {
            "id": "c-core",
            "title": "Core course",
            "team": "core",
            "modules": [
                {"id": "m-data", "title": "Data", "format": "hands-on", "hours": 2,
                 "skills": {"data": 3}},
                {"id": "m-opt1", "title": "Optimisation I", "format": "lecture", "hours": 3,
                 "skills": {"opt": 2}, "prerequisites": ["m-data"], "materials": ["m-opt1"]},
                {"id": "m-opt2", "title": "Optimisation II", "format": "hands-on", "hours": 4,
                 "skills": {"opt": 4, "eval": 2}, "prerequisites": ["m-opt1"]},
            ],
        },
        {
            "id": "c-ops",
            "title": "Ops course",
            "team": "ops",
            "modules": [
                {"id": "m-eval", "title": "Evaluation", "format": "lecture", "hours": 1,
                 "skills": {"eval": 3}, "prerequisites": ["m-data"]},
                {"id": "m-fast", "title": "Fast optimisation", "format": "hands-on", "hours": 6,
                 "skills": {"opt": 4}},
                {"id": "m-serve", "title": "Serving", "format": "hands-on", "hours": 2,
                 "skills": {"serve": 3}, "prerequisites": ["m-fast"]},
            ],
        },
    ],
    "employees": [
        {"id": "alice", "name": "Alice Smith", "team": "core",
         "skills": {"data": 4, "opt": 4, "eval": 3}, "completed": ["m-data"]},
        {"id": "bob", "name": "Bob Brown", "team": "core", "skills": {"data": 1}},
        {"id": "erin", "name": "Erin Wu", "team": "core", "completed": ["m-data"]},
        {"id": "carol", "name": "Carol Jones", "team": "ops", "skills": {"serve": 4, "opt": 3}},
        {"id": "dan", "name": "Dan Lee", "team": "ops",
         "skills": {"eval": 5, "data": 4, "serve": 2}},
    ],
}  # fmt: skip


def doc(doc_id: str, title: str, **meta: Any) -> Document:
    fields: dict[str, Any] = {
        "team": None, "course": None, "module": None, "skills": (), "tags": (),
        "author": None, "date": None, "visibility": (),
    }  # fmt: skip
    fields.update(meta)
    return Document(
        doc_id=doc_id, source=f"{doc_id}.md", title=title, type="markdown", n_chunks=1, **fields
    )


DOCS = [
    # filed under c-core / m-opt1, covers opt (taught by c-core and c-ops): a bridge by skill
    doc("d-tune", "Tuning notes", team="core", course="c-core", module="m-opt1",
        skills=("opt",), author="Alice Smith"),
    # filed under c-ops and named (tag m-opt1) as material of m-opt1 in c-core: a direct bridge
    doc("d-shared", "Shared checklist", team="ops", course="c-ops", tags=("m-opt1",)),
    # serving is taught by c-ops alone: no bridge; its author is not an employee
    doc("d-serve", "Serving guide", team="ops", course="c-ops", module="m-serve",
        skills=("serve",), author="Zoe External"),
    # restricted to ops; a skill and an author that nothing else names
    doc("d-secret", "Secret ops playbook", team="ops", course="c-ops",
        skills=("opt", "quokka-tricks"), author="Quentin Quokka", visibility=("ops",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    assert validate_catalog(RAW) == []
    return build_catalog(RAW)


@pytest.fixture(scope="module")
def kg(catalog: Catalog) -> KnowledgeGraph:
    return graph_for(catalog, DOCS, None)


# -- the graph itself -----------------------------------------------------------------------------
def test_nodes_and_edges_of_every_kind(kg: KnowledgeGraph) -> None:
    g = kg.graph
    assert g.nodes["module:m-opt2"] == {
        "kind": "module", "label": "Optimisation II", "course": "c-core", "team": "core",
        "hours": 4.0, "format": "hands-on", "order": 2,
    }  # fmt: skip
    assert g.edges["team:core", "course:c-core"]["kind"] == "owns"
    assert g.edges["course:c-core", "module:m-opt1"]["kind"] == "contains"
    assert g.edges["module:m-opt1", "module:m-opt2"]["kind"] == "prerequisite"
    assert g.edges["module:m-opt2", "skill:opt"] == {"kind": "teaches", "level": 4}
    assert g.edges["person:alice", "skill:opt"] == {"kind": "has_level", "level": 4}
    assert not g.has_edge("person:bob", "skill:opt")  # level 0: no edge
    assert g.edges["person:alice", "team:core"]["kind"] == "member_of"
    assert g.edges["person:alice", "document:d-tune"]["kind"] == "wrote"  # the author by name
    assert g.nodes["author:Zoe External"]["kind"] == "person"  # not an employee
    assert g.edges["document:d-tune", "skill:opt"]["kind"] == "covers"
    assert g.edges["document:d-tune", "course:c-core"]["kind"] == "in_course"
    assert g.edges["document:d-tune", "module:m-opt1"] == {"kind": "for_module", "via": "metadata"}
    assert g.edges["document:d-shared", "module:m-opt1"] == {
        "kind": "for_module",
        "via": "material",
    }
    assert g.edges["document:d-serve", "team:ops"]["kind"] == "from_team"
    assert g.nodes["skill:quokka-tricks"]["in_catalogue"] is False


def test_trainers_of_cycles_are_linked_to_their_modules(catalog: Catalog) -> None:
    @dataclass(frozen=True)
    class Cycle:
        trainers: tuple[str, ...]
        modules: tuple[str, ...]

    @dataclass(frozen=True)
    class WithCycles(Catalog):
        cycles: Mapping[str, Any] = field(default_factory=dict)

    cycles = {"c1": Cycle(trainers=("bob", "Guest Trainer"), modules=("m-eval",))}
    with_cycles = WithCycles(**{**vars(catalog), "cycles": cycles})
    g = graph_for(with_cycles, [], None)
    assert g.graph.edges["person:bob", "module:m-eval"]["kind"] == "trained"
    assert g.graph.edges["trainer:Guest Trainer", "module:m-eval"]["kind"] == "trained"
    # eval: 2 modules rely on it; dan (level 5) and the two trainers could teach it: 2 / 4
    found = {b.skill: b for b in bottlenecks(g)}
    assert found["eval"].teachers == ("person:bob", "person:dan", "trainer:Guest Trainer")
    assert found["eval"].pressure == 0.5


# -- question 1: a path of modules ----------------------------------------------------------------
def test_the_shortest_path_takes_the_fewest_hours_with_prerequisites_first(
    kg: KnowledgeGraph,
) -> None:
    # bob to opt 2: m-data (2 h) then m-opt1 (3 h) = 5 h, beside m-fast (6 h) and
    # m-data + m-opt1 + m-opt2 (9 h).
    path = learning_path(kg, "bob", "opt", 2)
    assert path.status == "ok"
    assert [s.module for s in path.steps] == ["m-data", "m-opt1"]
    assert [s.cumulative_hours for s in path.steps] == [2.0, 5.0]
    assert [s.level_after for s in path.steps] == [0, 2]
    assert path.steps[0].reason == "prerequisite of m-opt1"
    assert path.total_hours == 5.0
    assert [(a.module, a.hours, a.modules) for a in path.alternatives] == [
        ("m-fast", 6.0, 1),
        ("m-opt2", 9.0, 3),
    ]
    # to opt 4: m-fast alone (6 h) beats the chain to m-opt2 (9 h)
    assert [s.module for s in learning_path(kg, "bob", "opt", 4).steps] == ["m-fast"]


def test_completed_prerequisites_are_not_taken_again(kg: KnowledgeGraph) -> None:
    # erin completed m-data: to opt 4, m-opt1 + m-opt2 is 7 h, m-fast 6 h; to opt 2, m-opt1 3 h
    assert [s.module for s in learning_path(kg, "erin", "opt", 4).steps] == ["m-fast"]
    path = learning_path(kg, "erin", "opt", 2)
    assert [s.module for s in path.steps] == ["m-opt1"] and path.total_hours == 3.0


def test_default_level_reached_and_unreachable(kg: KnowledgeGraph) -> None:
    path = learning_path(kg, "bob", "opt")  # the team's target, 3: m-fast, 6 h
    assert path.target == 3 and [s.module for s in path.steps] == ["m-fast"]
    assert learning_path(kg, "alice", "opt", 4).status == "reached"
    unreachable = learning_path(kg, "alice", "opt", 5)
    assert unreachable.status == "unreachable" and "highest taught is 4" in unreachable.reason
    with pytest.raises(UnknownIdError):
        learning_path(kg, "nobody", "opt")
    with pytest.raises(UnknownIdError):
        learning_path(kg, "bob", "quokka-tricks")  # in the graph, not in the catalogue
    with pytest.raises(InvalidValueError):
        learning_path(kg, "bob", "opt", 6)
    with pytest.raises(NoCatalogError):
        learning_path(graph_for(None, DOCS, None), "bob", "opt")


# -- question 3: bottlenecks ----------------------------------------------------------------------
def test_bottlenecks_worked_by_hand(kg: KnowledgeGraph) -> None:
    # opt:  taught by m-opt1, m-opt2, m-fast; m-serve follows m-fast -> 4 modules;
    #       teachers (level >= 4): alice -> 4 / 2 = 2.0
    # data: taught by m-data, followed by m-opt1, m-opt2, m-eval -> 4; alice, dan -> 4 / 3
    # eval: taught by m-opt2, m-eval -> 2; dan -> 2 / 2 = 1.0
    # serve: m-serve alone -> under min_modules 2
    found = bottlenecks(kg)
    assert [(b.skill, b.pressure) for b in found] == [("opt", 2.0), ("data", 1.3333), ("eval", 1.0)]
    opt = found[0]
    assert opt.modules == ("m-opt1", "m-opt2", "m-fast", "m-serve")
    assert opt.teaching == ("m-opt1", "m-opt2", "m-fast")
    assert opt.teachers == ("person:alice",)
    assert "Alice Smith" in opt.reason
    # carol (opt 3) counts from level 3; serving counts from one module
    assert {b.skill: b.teachers for b in bottlenecks(kg, teach_level=3)}["opt"] == (
        "person:alice",
        "person:carol",
    )
    assert "serve" in {b.skill for b in bottlenecks(kg, min_modules=1)}


# -- question 4: bridges --------------------------------------------------------------------------
def test_bridges_worked_by_hand(kg: KnowledgeGraph) -> None:
    found = bridges(kg)
    assert [b.doc_id for b in found] == ["d-shared", "d-secret", "d-tune"]
    shared = found[0]
    assert shared.direct and shared.teams == ("core", "ops")
    assert [(c.course, c.via) for c in shared.courses] == [
        ("c-core", ("material",)),
        ("c-ops", ("course",)),
    ]
    tune = found[2]
    assert not tune.direct
    assert [(c.course, c.via) for c in tune.courses] == [
        ("c-core", ("course", "module", "skill:opt")),
        ("c-ops", ("skill:opt",)),
    ]
    assert [b.doc_id for b in bridges(kg, by_skill=False)] == ["d-shared"]


# -- question 2: experts --------------------------------------------------------------------------
class FixedSearch:
    """A search that returns these documents in this order, whatever the query."""

    def __init__(self, *doc_ids: str) -> None:
        self.doc_ids = doc_ids
        self.filters: list[SearchFilters | None] = []

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        self.filters.append(filters)
        return [
            Hit(d, 1, f"{d}.md", d, "markdown", "", "", 1.0 / r, "", None, None, None, (), (), None)
            for r, d in enumerate(self.doc_ids, start=1)
        ]


def test_experts_worked_by_hand(kg: KnowledgeGraph) -> None:
    # d-tune (rank 1, weight 1): its author alice +1; opt >= 3: alice +0.5*4/5, carol +0.5*3/5
    # d-serve (rank 2, weight 1/2): its author Zoe +0.5; serve >= 3: carol +0.5*4/5*0.5
    answer = experts(kg, FixedSearch("d-tune", "d-serve"), "tuning")
    assert answer.documents == ("d-tune", "d-serve")
    got = [(e.person, e.score, e.distance) for e in answer.experts]
    assert got == [
        ("person:alice", 1.4, 1),
        ("author:Zoe External", 0.5, 1),  # as near as carol, and nearer
        ("person:carol", 0.5, 2),
    ]
    alice = answer.experts[0]
    assert alice.employee == "alice" and alice.authored == ("d-tune",)
    assert [(s.skill, s.level) for s in alice.skills] == [("opt", 4)]
    assert answer.experts[1].employee is None


def test_experts_never_walk_from_a_document_the_viewer_may_not_see(catalog: Catalog) -> None:
    core = graph_for(catalog, DOCS, ("core",))
    search = FixedSearch("d-secret", "d-tune")  # a search that (wrongly) returned it
    answer = experts(core, search, "playbook", viewer_teams=("core",))
    assert answer.documents == ("d-tune",)  # d-tune is rank 1 now
    assert "author:Quentin Quokka" not in {e.person for e in answer.experts}
    assert search.filters == [SearchFilters(viewer_teams=("core",))]


# -- visibility, filters, privacy -----------------------------------------------------------------
def test_a_restricted_document_is_not_in_the_graph_of_another_team(catalog: Catalog) -> None:
    for teams in (("core",), ()):
        g = graph_for(catalog, DOCS, teams).graph
        assert "document:d-secret" not in g
        text = json.dumps(node_link(g)) + graphml(g)
        for trace in ("d-secret", "Secret ops", "quokka", "Quokka"):
            assert trace not in text
        assert [b.doc_id for b in bridges(KnowledgeGraph(g, catalog))] == ["d-shared", "d-tune"]
    ops = graph_for(catalog, DOCS, ("ops",)).graph
    assert "document:d-secret" in ops and "author:Quentin Quokka" in ops


def test_focus_on_a_team_a_skill_a_person(kg: KnowledgeGraph) -> None:
    g = kg.graph
    ops = focus(g, team="ops")
    assert {"team:ops", "course:c-ops", "module:m-fast", "person:dan", "document:d-serve"} <= set(
        ops
    )
    assert "skill:serve" in ops and "author:Zoe External" in ops  # what they connect to
    assert "course:c-core" not in ops and "person:alice" not in ops
    assert "document:d-shared" in ops  # filed under c-ops
    serve = focus(g, skill="serve")
    assert set(serve) == {
        "skill:serve",
        "module:m-serve",
        "person:carol",
        "person:dan",
        "document:d-serve",
    }
    alice = focus(g, person="Alice Smith")  # by name works too
    assert set(alice) == {
        "person:alice",
        "team:core",
        "skill:data",
        "skill:opt",
        "skill:eval",
        "document:d-tune",
    }
    both = focus(g, team="core", skill="opt")
    assert "module:m-opt1" in both and "module:m-fast" not in both
    assert {"team:core", "skill:opt"} <= set(both)
    with pytest.raises(UnknownIdError):
        focus(g, team="nowhere")


def test_lower_levels_of_others_are_left_out_for_employees(kg: KnowledgeGraph) -> None:
    g = without_private_levels(kg.graph, "bob")
    assert g.edges["person:bob", "skill:data"]["level"] == 1  # his own, however low
    assert not g.has_edge("person:dan", "skill:serve")  # dan's 2: not for bob to see
    assert g.has_edge("person:carol", "skill:opt")  # 3 and above: expertise, shown
    assert g.has_edge("person:dan", "skill:eval")
    assert kg.graph.has_edge("person:dan", "skill:serve")  # the cached graph is untouched


# -- outputs --------------------------------------------------------------------------------------
def test_node_link_json_and_graphml_round_trip(kg: KnowledgeGraph) -> None:
    data = json.loads(json.dumps(node_link(kg.graph)))
    back = nx.node_link_graph(data, edges="edges")
    assert set(back.nodes) == set(kg.graph.nodes)
    assert back.number_of_edges() == kg.graph.number_of_edges()
    read = nx.read_graphml(io.StringIO(graphml(kg.graph)))
    assert set(read.nodes) == set(kg.graph.nodes)
    assert read.nodes["module:m-opt2"]["hours"] == 4.0
    assert read.edges["module:m-opt2", "skill:opt"]["level"] == 4


# -- the cache ------------------------------------------------------------------------------------
class _Version:
    def __init__(self) -> None:
        self.version = 1


class FakeKnowledgeBase:
    def __init__(self, docs: list[Document]) -> None:
        self.docs = docs
        self.store = _Version()
        self.listed = 0

    def list_documents(self, filters: SearchFilters | None = None) -> list[Document]:
        self.listed += 1
        return list(self.docs)


def test_the_cache_rebuilds_only_when_documents_events_or_the_catalogue_change(
    tmp_path: Path,
) -> None:
    import yaml

    folder = tmp_path / "catalog"
    folder.mkdir()
    for kind, entries in RAW.items():
        (folder / f"{kind}.yaml").write_text(yaml.safe_dump(entries))
    kb = FakeKnowledgeBase(DOCS[:2])
    cache = GraphCache()
    with CatalogStore.open(tmp_path / "home") as store:
        empty = cache.get(kb, store, None)  # no catalogue yet: documents only
        assert empty.catalog is None and "document:d-tune" in empty.graph
        load_catalog(store, folder)
        first = cache.get(kb, store, ("core",))
        assert first.catalog is not None and "module:m-opt1" in first.graph
        assert cache.get(kb, store, ("core",)) is first  # nothing changed: the same graph
        assert (cache.builds, kb.listed) == (2, 2)
        other = cache.get(kb, store, ("ops",))  # another viewer: its own graph, same documents
        assert other is not first and (cache.builds, kb.listed) == (3, 2)

        kb.docs = DOCS  # a document arrives (the store's version moves)
        kb.store.version += 1
        assert "document:d-serve" in cache.get(kb, store, ("core",)).graph

        catalog = cache.get(kb, store, None).require_catalog()
        record_completion(store, catalog, "bob", "m-data", 1.0)  # an event
        after = cache.get(kb, store, None)
        assert after.graph.edges["person:bob", "skill:data"]["level"] == 3

        RAW["skills"][3]["name"] = "Serving models"  # the catalogue is loaded again, changed
        try:
            (folder / "skills.yaml").write_text(yaml.safe_dump(RAW["skills"]))
            load_catalog(store, folder)
        finally:
            RAW["skills"][3]["name"] = "Serving"
        reloaded = cache.get(kb, store, None)
        assert reloaded.graph.nodes["skill:serve"]["label"] == "Serving models"
        assert reloaded.graph.edges["person:bob", "skill:data"]["level"] == 3  # event kept
