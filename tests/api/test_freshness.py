"""Freshness through the interfaces: hits in `GET /search` and `kb search --json` carry the date
and the stale mark, `GET /documents/{id}` the date, its source, review date and owner; `GET
/analytics/stale` (organisers only) and `kb stale --json` list the same documents per skill,
with each skill's threshold from the catalogue (`stale_after_days` in skills.yaml)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from tests.api_helpers import auth, ingest, load_sample_catalog, running_client
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc

TODAY = date.today()
A_YEAR_AND_A_HALF_AGO = (TODAY - timedelta(days=550)).isoformat()  # over 365, under 730

MATERIAL = {
    # past its review date: stale whatever its age
    "lora-review.md": markdown_doc(
        "LoRA review checklist",
        {"Checklist": "LoRA adapters: check rank, alpha and the target modules."},
        skills=["llm-fine-tuning"],
        date=(TODAY - timedelta(days=30)).isoformat(),
        review_by=(TODAY - timedelta(days=1)).isoformat(),
        owner="mei-lin-wong",
    ),
    # 550 days: over llm-fine-tuning's 365 (the sample catalogue's), under the default 730
    "lora-old.md": markdown_doc(
        "LoRA memory notes",
        {"Memory": "LoRA adapters keep optimiser memory small."},
        skills=["llm-fine-tuning", "model-serving"],
        date=A_YEAR_AND_A_HALF_AGO,
    ),
    # as old, on a skill with the default: fresh
    "serving-old.md": markdown_doc(
        "Serving notes",
        {"Batching": "LoRA adapters can be served with dynamic batching."},
        skills=["model-serving"],
        date=A_YEAR_AND_A_HALF_AGO,
    ),
}


def test_hits_documents_and_the_organisers_list_say_what_may_be_out_of_date(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        load_sample_catalog(client)
        job = ingest(client, MATERIAL)
        assert job["state"] == "done" and not job["summary"]["failed"], job

        hits = client.get("/search", params={"q": "LoRA adapters"}, headers=auth("liam")).json()
        marks = {h["source"]: (h["stale"], h["stale_reason"]) for h in hits["hits"]}
        review_by = (TODAY - timedelta(days=1)).isoformat()
        assert marks == {
            "lora-review.md": (True, f"past its review date ({review_by})"),
            "lora-old.md": (
                True,
                "550 days old, over the 365 days allowed (skill llm-fine-tuning)",
            ),
            "serving-old.md": (False, None),
        }
        first = next(h for h in hits["hits"] if h["source"] == "lora-review.md")
        assert (first["owner"], first["date_source"], first["review_by"]) == (
            "mei-lin-wong",
            "metadata",
            review_by,
        )
        shown = client.get(f"/documents/{first['doc_id']}", headers=auth("liam")).json()
        assert (shown["date"], shown["date_source"], shown["review_by"], shown["owner"]) == (
            first["date"],
            "metadata",
            review_by,
            "mei-lin-wong",
        )
        # the document page says what its hit said, by the same rule (the catalogue's too)
        for source, mark in marks.items():
            doc_id = next(h["doc_id"] for h in hits["hits"] if h["source"] == source)
            page = client.get(f"/documents/{doc_id}", headers=auth("liam")).json()
            assert (page["stale"], page["stale_reason"]) == mark, source

        assert client.get("/analytics/stale", headers=auth("liam")).status_code == 403
        assert client.get("/analytics/stale").status_code == 401
        listed = client.get("/analytics/stale", headers=auth("organiser")).json()
        only = client.get(
            "/analytics/stale", params={"skill": "MODEL-SERVING"}, headers=auth("organiser")
        ).json()

    assert listed["today"] == TODAY.isoformat() and listed["stale_after_days"] == 730
    assert listed["total"] == 2
    groups = {g["skill"]: g for g in listed["skills"]}
    assert list(groups) == ["llm-fine-tuning", "model-serving"]
    fine_tuning = groups["llm-fine-tuning"]
    assert (fine_tuning["name"], fine_tuning["stale_after_days"]) == ("LLM fine-tuning", 365)
    # past review first, then the oldest
    assert [d["source"] for d in fine_tuning["documents"]] == ["lora-review.md", "lora-old.md"]
    assert fine_tuning["documents"][0]["owner"] == "mei-lin-wong"
    assert fine_tuning["documents"][0]["kind"] == "review_by"
    assert fine_tuning["documents"][1]["kind"] == "age"
    assert fine_tuning["documents"][1]["age_days"] == 550
    # a document is listed under each of its skills; serving-old.md is within its threshold
    assert [d["source"] for d in groups["model-serving"]["documents"]] == ["lora-old.md"]
    assert [g["skill"] for g in only["skills"]] == ["model-serving"]

    # the command line answers the same JSON, and marks hits the same way
    def cli(*args: str) -> Any:
        obj = CliContext(home=tmp_path / "home", embedder=fake_embedder)
        result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), *args], obj=obj)
        assert result.exit_code == 0, result.output
        return result.output

    assert json.loads(cli("stale", "--json")) == listed
    assert json.loads(cli("stale", "--skill", "model-serving", "--json")) == only
    text = cli("stale")
    assert "llm-fine-tuning  (stale after 365 days)" in text
    assert "lora-review.md  [mei-lin-wong]  past its review date" in text
    assert "2 documents may be out of date." in text
    searched = json.loads(cli("search", "LoRA", "adapters", "--json"))
    assert {h["source"]: (h["stale"], h["stale_reason"]) for h in searched["hits"]} == marks
    assert "may be out of date: past its review date" in cli("search", "LoRA", "adapters")


# Two documents on one subject, written years apart (in other words: near copies would be
# shown as one, kb.dedupe)
TWINS = {
    name: markdown_doc(title, {"Drift": body}, date=day)
    for name, title, body, day in (
        (
            "drift-2021.md",
            "Drift alerts (2021)",
            "Drift alerts: someone checks the population stability index by hand each month.",
            "2021-03-01",
        ),
        (
            "drift-now.md",
            "Drift alerts (now)",
            "Drift alerts come from a weekly job comparing prediction histograms to a reference.",
            (TODAY - timedelta(days=10)).isoformat(),
        ),
    )
}


def test_the_recency_weight_is_off_by_default_and_favours_recent_documents_when_set(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    from api.settings import Settings

    assert Settings().recency_weight == 0.0  # the default: fusion's ranking exactly
    scores = {}
    for weight in (0.0, 1.0):
        with running_client(
            tmp_path / str(weight), fake_embedder, recency_weight=weight, recency_half_life_days=90
        ) as client:
            ingest(client, TWINS)
            answer = client.get("/search", params={"q": "drift alerts"}, headers=auth("liam"))
            scores[weight] = {h["source"]: h["score"] for h in answer.json()["hits"]}
    off, on = scores[0.0], scores[1.0]
    assert on["drift-now.md"] == pytest.approx(off["drift-now.md"] * 0.5 ** (10 / 90), abs=1e-6)
    assert on["drift-2021.md"] < 0.01 * off["drift-2021.md"]  # years old: next to nothing
    assert next(iter(on)) == "drift-now.md"


def test_a_setting_out_of_range_is_one_sentence_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_embedder: HashingEmbedder
) -> None:
    monkeypatch.setenv("KB_RECENCY_WEIGHT", "2")
    obj = CliContext(home=tmp_path / "home", embedder=fake_embedder)
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "stale"], obj=obj)
    assert result.exit_code == 2
    assert "A setting is not valid (KB_RECENCY_WEIGHT: " in result.output
    assert "fix it in the environment" in result.output
