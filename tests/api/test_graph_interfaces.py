"""`kb graph` and `GET /graph...` over a real store: the worked example of
tests/recommender/test_graph.py ingested as Markdown (the hashing stand-in model: these are
tests of mechanics), visibility through both interfaces, levels kept private, parseable JSON
and GraphML, and a graph that follows new documents and events."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import yaml
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext
from api.http.app import create_app
from api.http.auth import hash_key
from api.settings import Settings
from ingest import ingest_paths
from kb import open_knowledge_base
from recommender import load_catalog
from recommender.state.sqlite import CatalogStore
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc
from tests.recommender.test_graph import RAW

SECRET = "quokkaplaybook"
CORPUS = {
    "tune.md": markdown_doc(
        "Tuning notes",
        {"Search": "Random search over the learning rate beats a grid."},
        team="core", course="c-core", module="m-opt1", skills=["opt"], author="Alice Smith",
    ),
    "shared.md": markdown_doc(
        "Shared checklist",
        {"Checks": "A checklist both teams use before a training run."},
        team="ops", course="c-ops", tags=["m-opt1"],
    ),
    "serve.md": markdown_doc(
        "Serving guide",
        {"Latency": "Dynamic batching keeps latency under budget."},
        team="ops", course="c-ops", module="m-serve", skills=["serve"], author="Zoe External",
    ),
    "secret.md": markdown_doc(
        "Secret ops playbook",
        {"Tuning": f"Our {SECRET} for optimisation: early stopping and warm restarts."},
        team="ops", course="c-ops", skills=["opt", "quokka-tricks"], author="Quentin Quokka",
        visibility=["ops"],
    ),
}  # fmt: skip
TRACES = ("Secret ops", SECRET, "quokka", "Quokka")
KEYS = {
    "organiser": "graph-organiser-key-0123456789",
    "alice": "graph-alice-key-0123456789abc",  # core
    "bob": "graph-bob-key-0123456789abcdef",  # core
    "carol": "graph-carol-key-0123456789abc",  # ops
}
ENTRIES = [
    {"key_sha256": hash_key(KEYS["organiser"]), "role": "organiser"},
    *(
        {"key_sha256": hash_key(KEYS[who]), "role": "employee", "employee": who}
        for who in ("alice", "bob", "carol")
    ),
]


def _hidden(text: str) -> bool:
    return not any(trace in text for trace in TRACES)


def _hidden_answer(answer: dict[str, Any]) -> bool:
    """An experts answer reveals nothing of the secret (its topic repeats the query)."""
    return _hidden(json.dumps({k: v for k, v in answer.items() if k != "topic"}))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder) -> Path:
    """A home with the worked example's catalogue and its four documents."""
    tmp = tmp_path_factory.mktemp("graph")
    catalog, corpus = tmp / "catalog", tmp / "corpus"
    catalog.mkdir()
    corpus.mkdir()
    for kind, entries in RAW.items():
        (catalog / f"{kind}.yaml").write_text(yaml.safe_dump(entries))
    for name, text in CORPUS.items():
        (corpus / name).write_text(text)
    home = tmp / "home"
    with CatalogStore.open(home) as store:
        load_catalog(store, catalog)
    kb = open_knowledge_base(home, embedder=fake_embedder)
    try:
        report = ingest_paths(kb, [corpus])
        assert not report.failed and report.added == 4
    finally:
        kb.close()
    return home


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def kb_cli(home: Path, fake_embedder: HashingEmbedder) -> Any:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        obj = CliContext(home=home, embedder=fake_embedder)
        return runner.invoke(main, list(args), obj=obj, catch_exceptions=False)

    return invoke


def test_cli_graph_json_leaves_out_what_a_team_may_not_see(kb_cli: Any) -> None:
    everything = kb_cli("graph", "--json")
    assert everything.exit_code == 0, everything.output
    data = json.loads(everything.output)
    titles = {n["label"] for n in data["nodes"] if n["kind"] == "document"}
    assert titles == {"Tuning notes", "Shared checklist", "Serving guide", "Secret ops playbook"}
    assert {"source", "target", "kind"} <= set(data["edges"][0])
    core = kb_cli("graph", "--json", "--visible-to", "core")
    assert core.exit_code == 0 and _hidden(core.output)
    back = nx.node_link_graph(json.loads(core.output), edges="edges")
    # gone with the document: its author and the one skill only it names
    assert set(nx.node_link_graph(data, edges="edges")) - set(back) == {
        "document:"
        + next(n["doc_id"] for n in data["nodes"] if n["label"] == "Secret ops playbook"),
        "author:Quentin Quokka",
        "skill:quokka-tricks",
    }


def test_cli_graphml_around_a_team_is_parseable(kb_cli: Any) -> None:
    result = kb_cli("graph", "--graphml", "--team", "ops", "--visible-to", "core")
    assert result.exit_code == 0, result.output
    graph = nx.read_graphml(io.StringIO(result.output))
    assert {"team:ops", "course:c-ops", "module:m-serve"} <= set(graph.nodes)
    assert "course:c-core" not in graph and _hidden(result.output)


def test_cli_summary_and_questions(kb_cli: Any) -> None:
    summary = kb_cli("graph")
    assert summary.exit_code == 0 and "4 document" in summary.output
    path = json.loads(kb_cli("graph", "path", "bob", "opt", "--level", "2", "--json").output)
    assert [s["module"] for s in path["steps"]] == ["m-data", "m-opt1"]
    assert path["total_hours"] == 5.0
    text = kb_cli("graph", "path", "bob", "opt").output
    assert "m-fast" in text and "6 h" in text
    found = json.loads(kb_cli("graph", "bottlenecks", "--json").output)["bottlenecks"]
    assert [(b["skill"], b["pressure"]) for b in found] == [
        ("opt", 2.0),
        ("data", 1.3333),
        ("eval", 1.0),
    ]
    assert "opt" in kb_cli("graph", "bottlenecks").output


def test_cli_bridges_and_experts_for_a_team(kb_cli: Any) -> None:
    everyone = json.loads(kb_cli("graph", "bridges", "--json").output)["bridges"]
    assert [b["title"] for b in everyone] == [
        "Shared checklist",
        "Secret ops playbook",
        "Tuning notes",
    ]
    core = kb_cli("graph", "bridges", "--json", "--visible-to", "core")
    assert [b["title"] for b in json.loads(core.output)["bridges"]] == [
        "Shared checklist",
        "Tuning notes",
    ]
    direct = json.loads(kb_cli("graph", "bridges", "--direct", "--json").output)["bridges"]
    assert [b["title"] for b in direct] == ["Shared checklist"]

    trusted = json.loads(kb_cli("graph", "experts", SECRET, "optimisation", "--json").output)
    assert "author:Quentin Quokka" in {e["person"] for e in trusted["experts"]}
    for args in (("--visible-to", "core"), ("--visible-to", "nobody-team")):
        result = kb_cli("graph", "experts", SECRET, "optimisation", "--json", *args)
        assert result.exit_code == 0
        answer = json.loads(result.output)
        assert _hidden_answer(answer) and answer["documents"]  # found, but not the secret


def test_cli_errors_are_sentences(kb_cli: Any) -> None:
    unknown = kb_cli("graph", "path", "nobody", "opt")
    assert unknown.exit_code == 2 and "unknown employee 'nobody'" in unknown.output
    team = kb_cli("graph", "--json", "--team", "nowhere")
    assert team.exit_code == 2 and "unknown team 'nowhere'" in team.output
    both = kb_cli("graph", "--json", "--graphml")
    assert both.exit_code == 2 and "one of --json and --graphml" in both.output


# -- HTTP ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(
    home: Path, tmp_path_factory: pytest.TempPathFactory, fake_embedder: HashingEmbedder
) -> Iterator[TestClient]:
    keys = tmp_path_factory.mktemp("graph-keys") / "keys.yaml"
    keys.write_text(yaml.safe_dump(ENTRIES))
    app = create_app(Settings(home=home, api_keys_file=keys), embedder=fake_embedder)
    with TestClient(app) as test_client:
        yield test_client


def get(client: TestClient, path: str, who: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {KEYS[who]}"})
    assert response.status_code == 200, response.text
    return response


def test_http_graph_is_each_callers_own(client: TestClient) -> None:
    alice = get(client, "/graph", "alice")
    assert _hidden(alice.text)
    assert "document:" in alice.text and alice.json()["directed"] is True
    carol = get(client, "/graph", "carol")
    assert "Secret ops playbook" in carol.text
    graphml = get(client, "/graph/graphml", "alice", team="ops")
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    assert _hidden(graphml.text)
    assert "team:ops" in nx.read_graphml(io.StringIO(graphml.text))
    focused = get(client, "/graph", "alice", skill="serve").json()
    assert {n["id"] for n in focused["nodes"]} >= {"skill:serve", "module:m-serve"}
    # the secret's own skill is not even a node for alice: 404 as for any unknown id
    response = client.get(
        "/graph",
        params={"skill": "quokka-tricks"},
        headers={"Authorization": f"Bearer {KEYS['alice']}"},
    )
    assert response.status_code == 404 and _hidden(response.text.replace("quokka-tricks", ""))


def _levels(data: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {
        (e["source"], e["target"]): e["level"] for e in data["edges"] if e["kind"] == "has_level"
    }


def test_http_levels_below_three_are_for_the_person_and_organisers(client: TestClient) -> None:
    bob = _levels(get(client, "/graph", "bob").json())
    assert bob[("person:bob", "skill:data")] == 1  # his own
    assert ("person:dan", "skill:serve") not in bob  # dan's 2
    assert bob[("person:alice", "skill:opt")] == 4
    organiser = _levels(get(client, "/graph", "organiser").json())
    assert organiser[("person:dan", "skill:serve")] == 2


def test_http_questions_respect_visibility_and_access(client: TestClient) -> None:
    path = get(client, "/graph/path", "bob", person="bob", skill="opt", level=2).json()
    assert [s["module"] for s in path["steps"]] == ["m-data", "m-opt1"]
    other = client.get(
        "/graph/path",
        params={"person": "bob", "skill": "opt"},
        headers={"Authorization": f"Bearer {KEYS['alice']}"},
    )
    assert other.status_code == 403
    assert (
        get(client, "/graph/path", "organiser", person="bob", skill="opt").json()["status"] == "ok"
    )

    bottlenecks = get(client, "/graph/bottlenecks", "alice").json()["bottlenecks"]
    assert bottlenecks[0]["skill"] == "opt" and bottlenecks[0]["teachers"] == ["person:alice"]

    alice_bridges = get(client, "/graph/bridges", "alice")
    assert _hidden(alice_bridges.text) and len(alice_bridges.json()["bridges"]) == 2
    assert "Secret ops playbook" in get(client, "/graph/bridges", "carol").text

    topic = f"{SECRET} optimisation"
    alice_experts = get(client, "/graph/experts", "alice", topic=topic)
    assert _hidden_answer(alice_experts.json()) and alice_experts.json()["documents"]
    carol_experts = get(client, "/graph/experts", "carol", topic=topic).json()
    assert "author:Quentin Quokka" in {e["person"] for e in carol_experts["experts"]}


def test_http_graph_follows_new_events_and_documents(client: TestClient) -> None:
    organiser = {"Authorization": f"Bearer {KEYS['organiser']}"}
    before = _levels(get(client, "/graph", "organiser").json())
    assert ("person:erin", "skill:opt") not in before
    response = client.post(
        "/employees/erin/events",
        json={"kind": "completion", "module": "m-opt1", "score": 1.0},
        headers=organiser,
    )
    assert response.status_code == 201, response.text
    assert _levels(get(client, "/graph", "organiser").json())[("person:erin", "skill:opt")] == 2

    note = markdown_doc("Warm restarts", {"Idea": "Restart the schedule."}, team="core")
    response = client.post(
        "/ingest", files=[("files", ("warm.md", note.encode()))], headers=organiser
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    deadline = time.monotonic() + 60
    while client.get(f"/ingest/jobs/{job_id}", headers=organiser).json()["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    labels = {n["label"] for n in get(client, "/graph", "alice").json()["nodes"]}
    assert "Warm restarts" in labels
