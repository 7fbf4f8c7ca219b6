"""What the knowledge base is missing (recommender.content_gaps): a worked example computed by
hand, visibility (a restricted document is counted, never named, for anyone outside its
teams), `GET /analytics/content` and `kb gaps-in-content`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.backends import open_backend
from api.cli import main
from api.cli.common import CliContext
from kb.searchlog.base import OpenEvent, SearchEvent
from kb.searchlog.sqlite import SqliteSearchLog
from kb.types import Document
from recommender.catalog.types import Catalog, Module, Skill
from recommender.content_gaps import (
    ContentReport,
    MissedQuery,
    content_report,
    topic_words,
    verdict,
    week_start,
)
from tests.api_helpers import CORPUS, auth, ingest, load_sample_catalog, running_client
from tests.fakes import HashingEmbedder

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday; the weeks start on 9 and 16 March
TUE = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
MON = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
THRESHOLDS = {("hybrid", "en"): 0.03}  # the example's own threshold, to compute by hand


def doc(doc_id: str, title: str, **fields: object) -> Document:
    values: dict[str, object] = {
        "source": f"{doc_id}.md",
        "type": "markdown",
        "team": None,
        "course": None,
        "module": None,
        "skills": (),
        "tags": (),
        "author": None,
        "date": None,
        "n_chunks": 1,
        "visibility": (),
    }
    values.update(fields)
    return Document(doc_id=doc_id, title=title, **values)  # type: ignore[arg-type]


DOCS = [
    doc("d-lora", "LoRA rank guide", skills=("llm-fine-tuning",), module="llm-lora"),
    doc("d-rag", "RAG chunking", skills=("vector-search", "llm-fine-tuning"), tags=("llm-rag",)),
    doc("d-drift", "Drift alerts runbook", skills=("model-monitoring",), module="mlops-mon"),
    doc(
        "d-secret",
        "Recsys private notes",
        skills=("recsys-modelling",),
        module="recsys-cf",
        visibility=("recsys",),
    ),
    doc("d-old", "Old cheat sheet"),
]


def catalog() -> Catalog:
    skills = {
        s: Skill(s, s.replace("-", " ").capitalize(), "other", 0.5)
        for s in ("llm-fine-tuning", "vector-search", "model-monitoring", "recsys-modelling")
    }
    modules = {
        m: Module(m, title, "lecture", 2.0, {}, "c", "t", i, materials=materials)
        for i, (m, title, materials) in enumerate(
            [
                ("llm-lora", "LoRA fine-tuning", ("llm-lora",)),
                ("llm-rag", "RAG", ("llm-rag",)),
                ("mlops-mon", "Monitoring", ("d-old.md",)),  # a source among the materials
                ("recsys-cf", "Collaborative filtering", ()),
            ]
        )
    }
    return Catalog(skills=skills, teams={}, courses={}, modules=modules, employees={})


def search(
    sid: str, at: datetime, query: str, hits: tuple[str, ...], best: float | None, **fields: object
) -> SearchEvent:
    return SearchEvent(
        sid.ljust(16, "0"),
        at,
        query,
        "hybrid",
        n_hits=len(hits),
        best_score=best,
        hits=hits,
        **fields,
    )  # type: ignore[arg-type]


SEARCHES = [
    search("1", TUE, "lora rank choice", ("d-lora", "d-rag", "d-old"), 0.0328),  # opened: good
    search("2", TUE, "lora rank alpha", ("d-lora", "d-rag"), 0.0325),  # good, nobody opened
    search("3", TUE, "kubernetes autoscaling", ("d-drift", "d-old"), 0.0161),  # weak hits
    search("4", MON, "kubernetes autoscaling", (), None),  # no hit
    search("5", MON, "Kubernetes  autoscaling pods", (), None),  # no hit
    search("6", MON, "drift alerts slack", ("d-drift", "d-secret"), 0.0328, origin="cli"),
    search("7", MON, "lora rank alpha", ("d-secret",), 0.02, offset=10),  # page 2: not counted
    search("8", TUE - timedelta(weeks=1), "ancient query", (), None),  # before the period
    search("9", MON, "rag chunk size", ("d-rag",), 0.0328, filters={"skill": "vector-search"}),
]
OPENS = [
    OpenEvent(TUE + timedelta(minutes=1), "d-lora", "1".ljust(16, "0")),
    OpenEvent(TUE + timedelta(minutes=2), "d-lora", "1".ljust(16, "0")),  # again: once
    OpenEvent(MON + timedelta(minutes=1), "d-rag", "9".ljust(16, "0")),
    OpenEvent(MON + timedelta(minutes=2), "d-drift"),  # read directly
    OpenEvent(TUE - timedelta(weeks=1), "d-old"),  # before the period
]


@pytest.fixture
def logged(tmp_path: Path) -> SqliteSearchLog:
    log = SqliteSearchLog(tmp_path / "analytics.sqlite")
    log.write([*SEARCHES, *OPENS])
    return log


def report_for(
    log: SqliteSearchLog, embedder: HashingEmbedder, teams: tuple[str, ...] | None
) -> ContentReport:
    return content_report(
        log,
        DOCS,
        catalog=catalog(),
        embedder=embedder,
        viewer_teams=teams,
        weeks=2,
        now=NOW,
        thresholds=THRESHOLDS,
    )


def test_the_worked_example(logged: SqliteSearchLog, fake_embedder: HashingEmbedder) -> None:
    report = report_for(logged, fake_embedder, ())
    # Searches 1-6 and 9 (7 is a second page, 8 before the period); 3, 4 and 5 found nothing
    # good; 2 found good hits through the API that nobody opened; 6 came from the CLI.
    assert (report.since, report.weeks) == ("2026-03-09T00:00:00+00:00", 2)
    assert (report.searches, report.failed, report.unopened, report.opens) == (7, 3, 1, 3)
    assert [(w.week, w.searches, w.failed, w.unopened, w.opens) for w in report.trend] == [
        ("2026-03-09", 3, 1, 1, 1),  # 1, 2, 3; open of 1
        ("2026-03-16", 4, 2, 0, 2),  # 4, 5, 6, 9; open of 9, the direct read
    ]
    # Topics: the two kubernetes queries together (3 searches), the lora one alone.
    kube, lora = report.topics
    assert (kube.label, kube.searches) == ("kubernetes · autoscaling · pods", 3)
    assert kube.queries == (
        MissedQuery("kubernetes autoscaling", 2, "no_hits", 0.0161, "2026-03-16T10:00:00+00:00"),
        MissedQuery(
            "Kubernetes  autoscaling pods", 1, "no_hits", None, "2026-03-16T10:00:00+00:00"
        ),
    )
    assert (lora.label, lora.searches) == ("lora · rank · alpha", 1)
    assert [(q.query, q.reason, q.best_score) for q in lora.queries] == [
        ("lora rank alpha", "not_opened", 0.0325)
    ]
    # Coverage: documents everyone may see (d-secret is restricted), fewest first.
    assert [(c.id, c.documents, c.searches, c.little) for c in report.skills] == [
        ("recsys-modelling", 0, 0, True),
        ("vector-search", 1, 1, True),  # search 9 filtered on it
        ("model-monitoring", 1, 0, True),
        ("llm-fine-tuning", 2, 0, False),
    ]
    assert [(c.id, c.documents) for c in report.modules] == [
        ("recsys-cf", 0),
        ("llm-lora", 1),  # its module field
        ("llm-rag", 1),  # a tag among its materials
        ("mlops-mon", 2),  # its module field, and d-old.md among its materials
    ]
    # Nobody opened d-old (its open is older) nor d-secret; this organiser sees only d-old.
    assert [(d.doc_id, d.shown) for d in report.unopened_documents] == [("d-old", 2)]
    assert (report.unopened_documents_total, report.hidden_unopened) == (1, 1)


def test_a_restricted_document_is_named_only_to_its_team(
    logged: SqliteSearchLog, fake_embedder: HashingEmbedder
) -> None:
    outside = json.dumps(_as_json(report_for(logged, fake_embedder, ("nlp",))))
    assert "Recsys private notes" not in outside and "d-secret" not in outside
    for teams in (("recsys",), None):  # its team, and a trusted caller
        report = report_for(logged, fake_embedder, teams)
        assert [(d.doc_id, d.shown) for d in report.unopened_documents] == [
            ("d-old", 2),
            ("d-secret", 2),  # shown by searches 6 and 7
        ]
        assert report.hidden_unopened == 0


def _as_json(report: ContentReport) -> object:
    from api.cli.common import to_json

    return to_json(report)


def test_the_rules_behind_the_example() -> None:
    assert week_start(NOW) == datetime(2026, 3, 16, tzinfo=UTC)
    assert verdict(SEARCHES[0], {SEARCHES[0].search_id}, THRESHOLDS) is None
    assert verdict(SEARCHES[5], set(), THRESHOLDS) is None  # the CLI cannot report opens
    assert verdict(SEARCHES[2], set(), THRESHOLDS) == "weak_hits"
    chinese = search("z", MON, "漂移告警怎么处理", ("d-drift",), 0.016393)
    assert verdict(chinese, {chinese.search_id}) is None  # no threshold for Chinese hybrid
    assert topic_words([("How do I choose the LoRA rank?", 2), ("lora ranks 8 vs 16", 1)]) == (
        "lora",
        "rank",
        "choose",
    )


# -- over HTTP and on the command line ---------------------------------------------------------
def test_the_report_over_http_for_organisers_only(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)
        ingest(client, CORPUS)
        for who, query in (("liam", "class imbalance"), ("daniel", "zanzibarquokka")):
            client.get("/search", params={"q": query}, headers=auth(who))
        client.app.state.search_recorder.flush()  # type: ignore[attr-defined]
        answers = {
            who: client.get("/analytics/content", params={"weeks": 3}, headers=auth(who))
            for who in ("organiser", "organiser_recsys", "liam")
        }
        too_many = client.get("/analytics/content", params={"weeks": 0}, headers=auth("admin"))
    assert answers["liam"].status_code == 403 and too_many.status_code == 422
    body = answers["organiser"].json()
    assert (body["weeks"], body["searches"], len(body["trend"])) == (3, 2, 3)
    assert body["catalog_loaded"] and {s["id"] for s in body["skills"]} >= {"model-evaluation"}
    # Neither search's hits were opened: the restricted document stays unnamed for this
    # organiser (no team), and named for the recsys organiser.
    assert "Recsys private tuning notes" not in answers["organiser"].text
    assert body["hidden_unopened"] == 1
    titles = [d["title"] for d in answers["organiser_recsys"].json()["unopened_documents"]]
    assert "Recsys private tuning notes" in titles


def test_kb_gaps_in_content(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    home = tmp_path / "home"
    log = open_backend(home).open_search_log()
    moment = datetime.now(UTC) - timedelta(minutes=5)
    log.write(
        [
            search("c1", moment, "kubernetes autoscaling", (), None),
            search("c2", moment, "lora rank", ("d-x",), 0.04),
        ]
    )
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(
            main,
            ["--home", str(home), "gaps-in-content", *args],
            obj=CliContext(home=home, embedder=fake_embedder),
        )
        assert result.exit_code == 0, result.output
        return result.output

    body = json.loads(run("--weeks", "2", "--json"))
    assert (body["weeks"], body["searches"], body["failed"], body["unopened"]) == (2, 2, 1, 1)
    assert [t["label"] for t in body["topics"]] == ["kubernetes · autoscaling", "lora · rank"]
    assert not body["catalog_loaded"]
    text = run()
    assert (
        "2 searches: 1 found nothing good, 1 had hits nobody opened; documents were opened 0 times"
        in text
    )
    assert "'kubernetes autoscaling' x1: no hit" in text and "No catalogue loaded" in text
    refused = runner.invoke(main, ["--home", str(home), "gaps-in-content", "--weeks", "0"])
    assert refused.exit_code == 2
