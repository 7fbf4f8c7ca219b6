"""The `kb` command line and the HTTP API on both backends: the same commands and requests give
the same exit codes, status codes and JSON on SQLite (the home) as on PostgreSQL
(`--database-url` / `Settings(database_url=...)`, a fresh database on the session's server).

Each scenario runs once per backend and records what it saw, normalised (ids each store
numbers its own way, timings and job ids left out); a contract test checks one backend's
record against docs/cli.md, and one comparison test checks the two records are equal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.cli import main
from api.cli.common import CliContext
from api.http.app import create_app
from api.settings import Settings
from tests.api_helpers import auth, ingest, load_sample_catalog, write_keys
from tests.backend_corpus import FILES, TieFreeEmbedder, write_corpus
from tests.helpers import write
from tests.pg_helpers import fresh_database

HIT_KEYS = [
    "doc_id",
    "chunk_id",
    "source",
    "title",
    "type",
    "location",
    "anchor",
    "score",
    "snippet",
    "team",
    "course",
    "module",
    "skills",
    "tags",
    "author",
    "chunk_location",
    "also_in",
    "date",
    "date_source",
    "review_by",
    "owner",
    "stale",
    "stale_reason",
    "session",
    "parts",
    "slide",
    "moment",
    "link",
]
SUMMARY_KEYS = [
    "added",
    "updated",
    "unchanged",
    "removed",
    "failed",
    "chunks",
    "embedded",
    "pending_embeddings",
]
SEARCHES: list[list[str]] = [
    ["tuned thresholds"],
    ["tuning", "--mode", "lexical"],
    ["tuning", "--mode", "dense", "-k", "3"],
    ["alerts", "--team", "MLOPS"],
    ["search", "--type", "notebook"],
    ["drift", "--skill", "statistics", "--mode", "lexical"],
    ["lora", "--tag", "lora"],
    ["drift", "--course", "mlops-foundations", "--module", "drift"],
    ["加权系数"],
    ["LoRA 的 rank 怎么选"],
    ["tuning models", "-k", "2", "--offset", "2"],
]

Record = list[tuple[Any, ...]]
# What each store, run or request numbers or times its own way (and the backend's name).
VARYING = {
    "chunk_id",
    "job_id",
    "search_id",
    "id",
    "seconds",
    "searchable_seconds",
    "created_at",
    "started_at",
}
VARYING |= {"finished_at", "backend"}


def normalised(value: Any) -> Any:
    """JSON without the VARYING keys; scores to 4 decimals (float32 in faiss and SQLite,
    float8 in PostgreSQL)."""
    if isinstance(value, dict):
        return {
            key: round(item, 4) if key == "score" else normalised(item)
            for key, item in value.items()
            if key not in VARYING
        }
    if isinstance(value, list):
        return [normalised(item) for item in value]
    return value


# -- the command line -------------------------------------------------------------------------
def cli_session(home: Path, folder: Path, url: str | None) -> Record:
    """The commands of docs/cli.md, in order, on one backend, over the corpus written afresh in
    `folder`: (command, exit code, output, message)."""
    model = TieFreeEmbedder()
    on_backend = ["--database-url", url] if url else []
    record: Record = []

    def kb(*args: str) -> None:
        result = CliRunner().invoke(
            main, ["--home", str(home), *on_backend, *args], obj=CliContext(home, embedder=model)
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        try:
            out: Any = json.loads(result.stdout)
        except ValueError:
            out = result.stdout
        record.append((args, result.exit_code, normalised(out), result.stderr.strip()))

    write_corpus(folder)
    kb("search", "drift")  # empty store: a sentence, exit status 2
    kb("search", "  ")
    kb("ingest", str(folder), "--json")
    kb("ingest", str(folder), "--json")  # unchanged
    (folder / "broken.ipynb").write_text("{not json")
    kb("ingest", str(folder), "--json")  # one failure: exit status 1, the rest unchanged
    (folder / "broken.ipynb").unlink()
    for search in SEARCHES:
        kb("search", *search, "--json")
    kb("search", "tuned thresholds")  # the terminal form, too
    kb("docs", "--json")
    kb("docs", "--team", "nlp", "--type", "markdown", "--json")
    kb("show", "drift.md")
    kb("show", "office-hours.vtt")
    kb("show", "nothing.md")
    kb("stats")
    queries = write(
        folder.parent / "q.jsonl",
        "\n".join(
            json.dumps(line)
            for line in (
                {"query": "low rank adapters", "relevant": ["lora.md"], "lang": "en->en"},
                {"query": "注意力 加权", "relevant": ["attention.md"], "lang": "zh->zh"},
            )
        ),
    )
    kb("eval", str(queries), "--json")
    kb("rm", "lora.md", "--json")
    kb("rm", "lora.md")
    kb("search", "lora_alpha", "--mode", "lexical", "--json")
    (folder / "secret.md").unlink()
    kb("ingest", str(folder), "--prune", "--json")
    kb("docs", "--json")
    return record


@pytest.fixture(scope="module")
def cli_records(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> dict[str, Record]:
    """The command-line session on each backend, over one corpus folder (so that document
    ids and paths agree), run once for this module."""
    tmp = tmp_path_factory.mktemp("cli")
    url = fresh_database(pg_server_url)
    return {
        "sqlite": cli_session(tmp / "home", tmp / "corpus", None),
        "postgresql": cli_session(tmp / "pg-home", tmp / "corpus", url),
    }


@pytest.fixture
def cli_record(cli_records: dict[str, Record], backend: str) -> Record:
    return cli_records[backend]


def _find(record: Record, *args: str) -> tuple[int, Any, str]:
    found = [(code, out, err) for given, code, out, err in record if given == args]
    assert found, args
    return found[-1]


def test_cli_commands_keep_their_contract(cli_record: Record) -> None:
    code, _, err = _find(cli_record, "search", "drift")
    assert code == 2 and "knowledge base is empty" in err and "Traceback" not in err
    code, _, err = _find(cli_record, "search", "  ")
    assert code == 2 and "query is empty" in err
    ingests = [(code, out) for given, code, out, _ in cli_record if given[0] == "ingest"]
    assert [code for code, _ in ingests] == [0, 0, 1, 0]
    assert [list(out) for _, out in ingests] == [SUMMARY_KEYS] * 4  # seconds left out here
    assert [(o["added"], o["unchanged"], o["removed"]) for _, o in ingests] == [
        (len(FILES), 0, 0),
        (0, len(FILES), 0),
        (0, len(FILES), 0),
        (1, len(FILES) - 2, 1),  # lora.md, removed by `kb rm`, is back; secret.md pruned
    ]
    assert ingests[2][1]["failed"][0]["path"] == "broken.ipynb"

    code, out, _ = _find(cli_record, "search", "tuned thresholds", "--json")
    assert code == 0 and out["query"] == "tuned thresholds"
    assert [key for key in HIT_KEYS if key != "chunk_id"] == list(out["hits"][0])
    assert out["hits"][0]["source"] == "drift.md" and "<mark>" in out["hits"][0]["snippet"]
    code, out, _ = _find(cli_record, "search", "alerts", "--team", "MLOPS", "--json")
    assert {h["source"] for h in out["hits"]} == {"drift.md", "office-hours.vtt"}
    code, out, _ = _find(cli_record, "search", "加权系数", "--json")
    assert out["hits"][0]["source"] == "attention.md"
    assert "<mark>加权</mark><mark>系数</mark>" in out["hits"][0]["snippet"]
    code, out, _ = _find(cli_record, "search", "tuned thresholds")
    assert code == 0 and "drift.md @ Drift alerts" in out and "**tuned**" in out

    code, out, _ = _find(cli_record, "docs", "--json")
    assert code == 0 and [d["source"] for d in out["documents"]] == sorted(
        set(FILES) - {"secret.md"}
    )
    code, out, _ = _find(cli_record, "docs", "--team", "nlp", "--type", "markdown", "--json")
    assert [d["source"] for d in out["documents"]] == ["attention.md"]
    code, out, _ = _find(cli_record, "show", "drift.md")
    assert code == 0 and out["source"] == "drift.md" and out["n_chunks"] == len(out["chunks"])
    assert {"ordinal", "heading", "text", "location", "anchor", "detail"} <= set(out["chunks"][0])
    code, out, _ = _find(cli_record, "show", "office-hours.vtt")
    assert out["chunks"][0]["detail"]["speakers"] == ["Ana Silva", "林佳慧"]
    code, _, err = _find(cli_record, "show", "nothing.md")
    assert code == 2 and "No document" in err
    code, out, _ = _find(cli_record, "stats")
    assert out["documents"] == len(FILES) and out["model"] == TieFreeEmbedder.name
    code, out, _ = _find(cli_record, "rm", "lora.md", "--json")
    assert code == 0 and out["removed"][0]["source"] == "lora.md"
    code, _, err = _find(cli_record, "rm", "lora.md")
    assert code == 2 and "No document" in err
    code, out, _ = _find(cli_record, "search", "lora_alpha", "--mode", "lexical", "--json")
    assert code == 0 and out["hits"] == []


def test_cli_eval_reports_every_mode_and_language(cli_record: Record) -> None:
    [(code, out)] = [(c, o) for given, c, o, _ in cli_record if given[0] == "eval"]
    assert code == 0 and out["queries"] == 2
    assert set(out["modes"]) == {"dense", "lexical", "hybrid"}
    assert set(out["languages"]) == {"en->en", "zh->zh"}
    assert out["modes"]["lexical"]["recall@10"] == 1.0


def test_the_cli_answers_alike_on_both_backends(cli_records: dict[str, Record]) -> None:
    """Compared directly: every command's exit code, JSON and message, one by one."""
    here, there = cli_records["sqlite"], cli_records["postgresql"]
    assert [entry[:2] for entry in here] == [entry[:2] for entry in there]
    for mine, theirs in zip(here, there, strict=True):
        assert mine == theirs, mine[0]


# -- the HTTP API -----------------------------------------------------------------------------
def api_session(tmp_path: Path, url: str | None) -> Record:
    """The API's search and document routes on one backend: (request, status, body)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        home=tmp_path / "home", api_keys_file=write_keys(tmp_path / "keys.yaml"), database_url=url
    )
    record: Record = []
    with TestClient(create_app(settings, embedder=TieFreeEmbedder())) as client:

        def call(method: str, path: str, who: str = "admin", **params: Any) -> Any:
            response = client.request(method, path, params=params or None, headers=auth(who))
            body = response.json()
            record.append(((method, path, who, params), response.status_code, normalised(body)))
            return body

        health = client.get("/health").json()
        record.append((("GET", "/health"), 200, normalised(health)))
        call("GET", "/search", q="drift")  # nothing ingested yet: an empty page
        job = ingest(client, FILES)
        record.append((("POST", "/ingest"), job["state"], normalised(job.get("summary"))))
        load_sample_catalog(client)
        for path in ("gaps", "next-module", "recommendations"):  # the recommender's store too
            assert call("GET", f"/employees/liam-chen/{path}", "liam")["employee"] == "liam-chen"
        for who in ("admin", "liam", "organiser"):
            call("GET", "/search", who, q="tuning playbook thresholds", k=10)
            call("GET", "/documents", who)
        for params in (
            {"q": "tuned thresholds", "mode": "lexical"},
            {"q": "alerts", "team": "MLOPS", "mode": "dense"},
            {"q": "search", "type": "notebook"},
            {"q": "drift", "skill": "statistics", "module": "DRIFT"},
            {"q": "lora", "tag": "LoRA", "mode": "lexical"},
            {"q": "加权系数"},
            {"q": "tuning models", "k": 2, "offset": 2},
            {"q": "   "},
            {"q": "x", "k": 0},
            {"q": "x", "mode": "fuzzy"},
            {"q": "x", "type": "pdf"},
        ):
            call("GET", "/search", **params)
        call("GET", "/documents", team="nlp", type="markdown")
        call("GET", "/documents", limit=2, offset=1)
        docs = {d["source"]: d["doc_id"] for d in call("GET", "/documents")["documents"]}
        call("GET", f"/documents/{docs['drift.md']}", "liam")
        call("GET", f"/documents/{docs['secret.md']}", "liam")  # restricted: 404, as missing
        call("GET", f"/documents/{docs['secret.md']}", "admin")
        call("GET", "/documents/0000000000000000", "liam")
        call("DELETE", f"/documents/{docs['lora.md']}", "liam")  # employees may not
        call("DELETE", f"/documents/{docs['lora.md']}")
        call("GET", f"/documents/{docs['lora.md']}")
        call("GET", "/search", q="lora_alpha", mode="lexical")
        record.append((("GET", "/health"), 200, normalised(client.get("/health").json())))
    return record


@pytest.fixture(scope="module")
def api_records(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> dict[str, Record]:
    """The API session on each backend, run once for this module."""
    tmp = tmp_path_factory.mktemp("api")
    return {
        "sqlite": api_session(tmp / "sqlite", None),
        "postgresql": api_session(tmp / "postgresql", fresh_database(pg_server_url)),
    }


@pytest.fixture
def api_record(api_records: dict[str, Record], backend: str) -> Record:
    return api_records[backend]


def test_api_routes_keep_their_contract(api_record: Record) -> None:
    by_request = {json.dumps(request, default=str): (s, b) for request, s, b in api_record}

    def get(method: str, path: str, who: str = "admin", **params: Any) -> tuple[int, Any]:
        return by_request[json.dumps((method, path, who, params), default=str)]

    health = api_record[0][2]
    assert api_record[0][1] == 200 and health["documents"] == 0
    status, body = get("GET", "/search", q="drift")
    assert (status, body["hits"]) == (200, [])
    assert api_record[2][1] == "done" and api_record[2][2]["added"] == len(FILES)
    status, body = get("GET", "/search", "admin", q="tuning playbook thresholds", k=10)
    assert status == 200 and "secret.md" in {h["source"] for h in body["hits"]}
    assert list(body["hits"][0]) == [key for key in HIT_KEYS if key != "chunk_id"]
    for who in ("liam", "organiser"):  # nlp; an organiser of no team
        status, body = get("GET", "/search", who, q="tuning playbook thresholds", k=10)
        assert {"secret.md", "lora.md"}.isdisjoint(h["source"] for h in body["hits"]), who
        assert "zanzibarquokka" not in json.dumps(body), who
        status, listed = get("GET", "/documents", who)
        assert listed["total"] == len(FILES) - 2, who
    status, body = get("GET", "/search", q="alerts", team="MLOPS", mode="dense")
    assert {h["source"] for h in body["hits"]} == {"drift.md", "office-hours.vtt"}
    status, body = get("GET", "/search", q="tuning models", k=2, offset=2)
    assert status == 200 and body["offset"] == 2 and len(body["hits"]) == 2
    for params in ({"q": "   "}, {"q": "x", "k": 0}, {"q": "x", "mode": "fuzzy"}):
        assert get("GET", "/search", **params)[0] == 422, params
    status, body = get("GET", "/documents", team="nlp", type="markdown")
    assert [d["source"] for d in body["documents"]] == ["attention.md"]
    status, body = get("GET", "/documents", limit=2, offset=1)
    assert (body["total"], body["offset"], len(body["documents"])) == (len(FILES), 1, 2)
    statuses = [status for request, status, _ in api_record if "/documents/" in str(request[1])]
    # drift (liam), secret (liam: hidden), secret (admin), missing, delete by liam, delete,
    # the deleted one
    assert statuses == [200, 404, 200, 404, 403, 200, 404]
    status, body = get("GET", "/search", q="lora_alpha", mode="lexical")
    assert body["hits"] == []
    assert api_record[-1][2]["documents"] == len(FILES) - 1
    assert (health["model"], health["dim"]) == (TieFreeEmbedder.name, TieFreeEmbedder.dim)


def test_the_api_answers_alike_on_both_backends(api_records: dict[str, Record]) -> None:
    """Compared directly: status codes and bodies, request by request. Uploads get the same
    document ids on both (their origin is the upload's name), so nothing else differs."""
    here, there = api_records["sqlite"], api_records["postgresql"]
    assert [entry[:2] for entry in here] == [entry[:2] for entry in there]
    for mine, theirs in zip(here, there, strict=True):
        assert mine == theirs, mine[0]


@pytest.fixture
def health_on(tmp_path: Path, backend_url: str | None) -> Iterator[Callable[[], Any]]:
    settings = Settings(
        home=tmp_path / "home",
        api_keys_file=write_keys(tmp_path / "keys.yaml"),
        database_url=backend_url,
    )
    with TestClient(create_app(settings, embedder=TieFreeEmbedder())) as client:
        yield lambda: client.get("/health").json()


def test_health_names_the_backend(health_on: Callable[[], Any], backend: str) -> None:
    assert health_on()["backend"] == backend
