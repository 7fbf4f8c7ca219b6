"""Readers' thumbs through the interfaces: `POST /feedback` (anyone signed in; 422 for what it
cannot read, 404 for a document the caller cannot see), `GET /analytics/feedback`
(organisers only), `kb feedback vote | list`, and the votes reaching search's ranking."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from kb.searchlog.base import ReaderCounts, pseudonym
from tests.api_helpers import CORPUS, KEYS, auth, ingest, load_sample_catalog, running_client
from tests.fakes import HashingEmbedder

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def _doc_id(client: Any, query: str, who: str = "liam") -> tuple[str, str | None]:
    answer = client.get("/search", params={"q": query}, headers=auth(who)).json()
    return answer["hits"][0]["doc_id"], answer["search_id"]


def test_votes_are_counted_once_per_reader_and_listed_for_organisers(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)  # daniel's team (recsys) may see the recsys document
        ingest(client, CORPUS)
        doc_id, search_id = _doc_id(client, "class imbalance")

        def post(who: str, **body: Any) -> Any:
            payload = {"query": "Class imbalance", "doc_id": doc_id, **body}
            return client.post("/feedback", headers=auth(who), json=payload)

        for _ in range(5):  # one reader, many clicks: one vote
            assert post("liam", vote="down", search_id=search_id).json() == {"recorded": True}
        assert post("daniel", vote=-1).status_code == 200  # numbers are accepted too
        assert post("organiser", vote="up").status_code == 200  # a key without an employee
        assert post("admin", vote="up").status_code == 200
        assert post("admin", vote="none").status_code == 200  # withdrawn

        bad_vote = post("liam", vote="sideways")
        assert bad_vote.status_code == 422 and "vote" in bad_vote.json()["error"]["message"]
        assert post("liam", vote="up", query="   ").status_code == 422
        assert post("liam", vote="up", search_id="x'; drop").status_code == 422
        missing = post("liam", vote="up", doc_id="no-such-doc")
        assert missing.status_code == 404 and "no-such-doc" in missing.json()["error"]["message"]
        secret_id, _ = _doc_id(client, "zanzibarquokka", who="daniel")
        assert post("liam", vote="up", doc_id=secret_id).status_code == 404  # not liam's to see
        assert client.post("/feedback", json={}).status_code == 401

        refused = client.get("/analytics/feedback", headers=auth("liam"))
        assert refused.status_code == 403
        recorder = client.app.state.search_recorder  # type: ignore[attr-defined]
        assert recorder.flush()
        listed = client.get("/analytics/feedback", headers=auth("organiser"), params={"since": 7})
        signals = recorder.log.reader_signals("class  IMBALANCE")
        # what a trained ranking model reads for this query, kept a few seconds per query
        searcher = client.app.state.services.kb.searcher  # type: ignore[attr-defined]
        assert searcher.reader_signals("Class imbalance") == signals
        events = recorder.log.feedback(LONG_AGO)
        secret = recorder.log.voter_secret()

    assert listed.status_code == 200
    [row] = listed.json()["items"]
    assert (row["query"], row["doc_id"], row["up"], row["down"]) == (
        "Class imbalance",
        doc_id,
        1,
        2,
    )
    assert row["title"] == "Handling class imbalance" and listed.json()["hidden"] == 0
    assert signals == {doc_id: ReaderCounts(up=1, down=2, opens=0)}
    assert {e.voter for e in events} == {
        pseudonym(secret, "employee:liam-chen"),
        pseudonym(secret, "employee:daniel-kowalski"),
        pseudonym(secret, f"key:{_key_id('organiser')}"),
        pseudonym(secret, f"key:{_key_id('admin')}"),
    }
    assert all(e.employee is None for e in events)  # not without KB_ANALYTICS_RECORD_EMPLOYEE
    assert events[0].search_id == search_id


def _key_id(who: str) -> str:
    import hashlib

    return hashlib.sha256(KEYS[who].encode()).hexdigest()[:16]


def test_the_organisers_list_hides_documents_of_other_teams(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)  # daniel's team (recsys) may see the recsys document
        ingest(client, CORPUS)
        secret_id, _ = _doc_id(client, "zanzibarquokka", who="daniel")
        body = {"query": "quokka", "doc_id": secret_id, "vote": "up"}
        assert client.post("/feedback", headers=auth("daniel"), json=body).status_code == 200
        assert client.app.state.search_recorder.flush()  # type: ignore[attr-defined]
        everyone = client.get("/analytics/feedback", headers=auth("organiser"))
        recsys = client.get("/analytics/feedback", headers=auth("organiser_recsys"))
        nlp_only = client.get("/analytics/feedback", headers=auth("organiser")).json()
    assert everyone.status_code == 200 and nlp_only["items"] == [] and nlp_only["hidden"] == 1
    assert [r["doc_id"] for r in recsys.json()["items"]] == [secret_id]


def test_with_recording_off_a_vote_is_not_kept_and_there_is_no_list(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder, analytics_enabled=False) as client:
        ingest(client, CORPUS)
        doc_id, _ = _doc_id(client, "latency")
        body = {"query": "latency", "doc_id": doc_id, "vote": "up"}
        answer = client.post("/feedback", headers=auth("liam"), json=body)
        listed = client.get("/analytics/feedback", headers=auth("organiser"))
    assert answer.json() == {"recorded": False}
    assert listed.status_code == 409 and "KB_ANALYTICS_ENABLED" in listed.text


def test_kb_feedback_vote_and_list(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text)

    def kb(*args: str) -> Any:
        obj = CliContext(home=home, embedder=fake_embedder)
        return CliRunner().invoke(main, ["--home", str(home), *args], obj=obj)

    assert kb("ingest", str(folder)).exit_code == 0
    found = json.loads(kb("search", "low latency serving", "--json").output)
    doc_id = found["hits"][0]["doc_id"]
    for _ in range(3):  # the same person: one vote
        voted = kb("feedback", "vote", "Low latency", doc_id, "down")
        assert voted.exit_code == 0, voted.output
    assert "voted down" in voted.output and "Low latency" in voted.output
    unknown = kb("feedback", "vote", "latency", "no-such-doc", "up")
    assert unknown.exit_code == 2 and "no-such-doc" in unknown.output
    assert kb("feedback", "vote", "latency", doc_id, "sideways").exit_code == 2

    listed = kb("feedback", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)["items"]
    assert (row["query"], row["doc_id"], row["up"], row["down"]) == ("Low latency", doc_id, 0, 1)
    text = kb("feedback", "list").output
    assert "Low latency" in text and "Serving models with low latency" in text

    # `kb rank train` reads the same counts (the log's feedback_summary)
    from api.backends import open_backend

    log = open_backend(home).open_search_log()
    try:
        assert log.feedback_summary() == {("Low latency", doc_id): ReaderCounts(down=1)}
        voters = {e.voter for e in log.feedback(LONG_AGO)}
        assert voters == {pseudonym(log.voter_secret(), "cli:" + getpass.getuser())}
    finally:
        log.close()
