"""The knowledge graph over HTTP: what `kb graph` and its questions answer.

Visibility as for /search: each caller gets the graph built from the documents its teams may
see, so a restricted document (and anything only it named) is never in a graph, a GraphML
file or an answer for someone outside those teams. People's levels: every key sees levels of
3 and above (expertise, as "who to ask" shows it); lower ones only organisers, admins and the
person. The graphs are cached per set of teams and rebuilt when a document, an event or the
catalogue changes.
"""

from __future__ import annotations

from typing import Annotated, Any

import networkx as nx
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.http.deps import (
    KB,
    Caller,
    Catalogs,
    CatalogsDep,
    GraphCacheDep,
    Viewer,
    ViewerDep,
    VisibleSource,
)
from api.http.deps import check_employee_access as _check_access
from api.http.errors import ApiError
from api.http.models import K_MAX, Bottlenecks, Bridges, GraphOut
from api.http.routes import errors
from kb import EmptyStoreError, KnowledgeBase
from recommender import (
    ExpertsAnswer,
    GraphCache,
    KnowledgeGraph,
    LearningPath,
    bottlenecks,
    bridges,
    experts,
    focus,
    graphml,
    learning_path,
    node_link,
    without_private_levels,
)

router = APIRouter(tags=["knowledge graph"])

Id = Annotated[str | None, Query(max_length=200)]
_READ = errors(401, 404, 422)


def _graph_of(
    viewer: Viewer, kb: KnowledgeBase, catalogs: Catalogs, cache: GraphCache
) -> KnowledgeGraph:
    with catalogs.session() as store:
        return cache.get(kb, store, viewer.teams)


def _shown(
    viewer: Viewer,
    kg: KnowledgeGraph,
    team: str | None,
    skill: str | None,
    person: str | None,
) -> nx.DiGraph:
    """The caller's graph, others' lower levels left out for employees, focused as asked."""
    graph = kg.graph
    if not viewer.principal.at_least("organiser"):
        graph = without_private_levels(graph, viewer.principal.employee)
    return focus(graph, team=team, skill=skill, person=person)


@router.get(
    "/graph",
    response_model=GraphOut,
    responses=_READ,
    summary="The knowledge graph as node-link JSON, whole or around a team, skill or person",
)
def get_graph(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    team: Id = None,
    skill: Id = None,
    person: Id = None,
) -> dict[str, Any]:
    """Skills, modules, courses, documents, people and teams (`kb graph --json`). Given
    `team`, `skill` or `person` (an employee id or an author's name), only the part around
    it (all given: what they share); an id the caller's graph lacks answers 404."""
    kg = _graph_of(viewer, kb, catalogs, cache)
    return node_link(_shown(viewer, kg, team, skill, person))


@router.get(
    "/graph/graphml",
    response_class=Response,
    responses={
        200: {
            "content": {"application/graphml+xml": {"schema": {"type": "string"}}},
            "description": "GraphML, for Gephi, yEd or networkx.read_graphml",
        },
        **_READ,
    },
    summary="The knowledge graph as GraphML (as `kb graph --graphml`)",
)
def get_graphml(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    team: Id = None,
    skill: Id = None,
    person: Id = None,
) -> Response:
    kg = _graph_of(viewer, kb, catalogs, cache)
    text = graphml(_shown(viewer, kg, team, skill, person))
    return Response(text, media_type="application/graphml+xml")


@router.get(
    "/graph/path",
    response_model=LearningPath,
    responses=errors(401, 403, 404, 409, 422),
    summary="The modules to a skill level in the fewest hours, prerequisites first",
)
def get_path(
    caller: Caller,
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    person: Annotated[str, Query(max_length=200, description="an employee id")],
    skill: Annotated[str, Query(max_length=200, description="a skill id of the catalogue")],
    level: Annotated[
        int | None,
        Query(ge=1, le=5, description="default: the person's target, else one above today's"),
    ] = None,
) -> LearningPath:
    """As `kb graph path`: employees may ask for themselves only."""
    _check_access(caller, person)
    return learning_path(_graph_of(viewer, kb, catalogs, cache), person, skill, level)


@router.get(
    "/graph/experts",
    response_model=ExpertsAnswer,
    responses=_READ,
    summary="Experts and authors nearest a topic",
)
def get_experts(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    topic: Annotated[str, Query(min_length=1, max_length=1000, description="words to search")],
    k: Annotated[int, Query(ge=1, le=K_MAX, description="how many people")] = 10,
) -> ExpertsAnswer:
    """The knowledge base is searched for `topic` (documents the caller may see), then the
    graph is walked from each document found to its author and to the people at level 3 or
    above in its skills; nearer and better-ranked documents count more."""
    text = topic.strip()
    if not text:
        raise ApiError(422, "The topic is empty: give some words (topic=...).")
    kg = _graph_of(viewer, kb, catalogs, cache)
    try:
        return experts(kg, VisibleSource(kb, viewer.teams), text, k=k, viewer_teams=viewer.teams)
    except EmptyStoreError:
        return ExpertsAnswer(text, (), ())


@router.get(
    "/graph/bottlenecks",
    response_model=Bottlenecks,
    responses=_READ,
    summary="Skills that many modules rely on but few people could teach",
)
def get_bottlenecks(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    min_modules: Annotated[int, Query(ge=1, le=1000)] = 2,
    teach_level: Annotated[int, Query(ge=3, le=5, description="could teach from this level")] = 4,
) -> Bottlenecks:
    kg = _graph_of(viewer, kb, catalogs, cache)
    return Bottlenecks(
        bottlenecks=bottlenecks(kg, min_modules=min_modules, teach_level=teach_level)
    )


@router.get(
    "/graph/bridges",
    response_model=Bridges,
    responses=_READ,
    summary="Documents that link courses of different teams",
)
def get_bridges(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    cache: GraphCacheDep,
    direct: Annotated[
        bool, Query(description="only course, module and material links, not shared skills")
    ] = False,
) -> Bridges:
    kg = _graph_of(viewer, kb, catalogs, cache)
    return Bridges(bridges=bridges(kg, by_skill=not direct))
