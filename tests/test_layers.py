"""The house's shape: what each layer may import, checked in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import networkx as nx


def imported_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_value_types_errors_and_the_recommender_import_without_faiss_or_torch() -> None:
    loaded = imported_after("import kb.types, kb.errors, kb.safe_yaml, recommender")
    assert not {"faiss", "torch", "sentence_transformers", "fastapi"} & loaded


def test_the_knowledge_base_itself_brings_faiss_but_not_the_web_stack() -> None:
    loaded = imported_after("from kb import KnowledgeBase")
    assert "faiss" in loaded
    assert not {"fastapi", "click", "torch"} & loaded


# -- the import graph, read from the source: every import counts, inside functions too -------
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kb", "ingest", "recommender", "api")
LOWER = {"kb": set(), "ingest": {"kb"}, "recommender": {"kb"}, "api": set(PACKAGES)}
# The modules that keep state in one backend: only `api.backends` opens them (the stores' own
# packages use their siblings, and kb's embedded default is its own SQLite store).
BACKEND_MODULES = {
    f"{seam}.{name}"
    for seam in ("kb.store", "kb.searchlog", "recommender.state", "ingest.jobs")
    for name in ("sqlite", "postgres", "local")
}


def module_names() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


@cache  # the source is read once for all the checks below
def import_graph() -> nx.DiGraph:
    modules = module_names()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in modules
                    else node.module
                    for alias in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph.add_edges_from((name, t) for t in targets if t in modules and t != name)
    return graph


def test_no_module_imports_itself_round_a_circle() -> None:
    circles = [c for c in nx.simple_cycles(import_graph()) if len(c) > 1]
    assert circles == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = [
        (source, target)
        for source, target in import_graph().edges
        if (top := source.split(".")[0]) != (other := target.split(".")[0])
        and other not in LOWER[top]
    ]
    assert wrong == []


def test_only_api_backends_opens_a_backend() -> None:
    openers = {
        source
        for source, target in import_graph().edges
        if target in BACKEND_MODULES and source.rsplit(".", 1)[0] != target.rsplit(".", 1)[0]
    }
    assert openers - {"api.backends", "kb.factory", "kb.reembed"} == set()
    # kb's own embedded default (kb.factory) and `kb reembed` (SQLite only) open its store,
    # nothing else of any backend
    graph = import_graph()
    for module in ("kb.factory", "kb.reembed"):
        assert {t for t in graph.successors(module) if t in BACKEND_MODULES} == {"kb.store.sqlite"}


def test_api_reaches_the_recommender_through_its_face() -> None:
    past = [
        (source, target)
        for source, target in import_graph().edges
        if source.startswith("api.")
        and source != "api.backends"
        and target.startswith("recommender.")
    ]
    assert past == []
