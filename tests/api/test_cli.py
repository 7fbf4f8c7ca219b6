"""The `kb` command line, as docs/cli.md shows it: JSON contracts, exit codes, messages."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from ingest import ingest_paths
from kb import SentenceTransformerEmbedder, open_knowledge_base
from tests.helpers import markdown_doc, write
from tests.onnx_helpers import session_onnx_cache


@pytest.fixture
def run(tmp_path: Path, embedder: SentenceTransformerEmbedder):  # type: ignore[no-untyped-def]
    """Invoke `kb --home <tmp> ...` in-process, sharing the session's loaded model."""
    home = tmp_path / "home"

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def corpus(folder: Path) -> Path:
    write(
        folder / "a.md",
        markdown_doc(
            "Drift alerts",
            {"PSI": "Population stability index."},
            team="mlops",
            skills=["model-monitoring"],
        ),
    )
    write(
        folder / "b.md",
        markdown_doc("LoRA", {"Rank": "Rank 8 adapters, alpha 16."}, team="support-ai"),
    )
    return folder


def test_ingest_json_summary_and_search_json(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("ingest", str(corpus(tmp_path / "c")), "--json")
    assert code == 0
    summary = json.loads(out)
    assert (summary["added"], summary["failed"]) == (2, [])
    code, out, _ = run("search", "adapter rank", "--json", "-k", "1")
    payload = json.loads(out)
    assert code == 0 and payload["query"] == "adapter rank"
    assert payload["hits"][0]["source"] == "b.md"
    code, out, _ = run("search", "stability", "--team", "support-ai", "--json")
    assert all(h["team"] == "support-ai" for h in json.loads(out)["hits"])


def test_ingest_no_wait_is_searchable_by_words_and_the_next_ingest_embeds(
    run, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = corpus(tmp_path / "c")
    code, out, err = run("ingest", str(folder), "--no-wait", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["added"], summary["embedded"]) == (2, 0)
    assert summary["pending_embeddings"] == summary["chunks"] > 0
    code, out, _ = run("stats")
    stats = json.loads(out)
    assert (stats["pending_embeddings"], stats["pending_documents"]) == (summary["chunks"], 2)
    code, out, _ = run("search", "adapter rank", "--json", "-k", "1")
    payload = json.loads(out)
    assert payload["hits"][0]["source"] == "b.md"  # by its words, through hybrid search
    assert payload["pending_documents"] == 2
    code, out, err = run("search", "adapter rank", "-k", "1")
    assert "2 documents are still being indexed for meaning" in err
    # the next ingest reads nothing again and makes the vectors left waiting
    code, out, _ = run("ingest", str(folder), "--json")
    again = json.loads(out)
    assert (again["unchanged"], again["pending_embeddings"]) == (2, 0)
    assert again["embedded"] == summary["chunks"]
    code, out, _ = run("search", "adapter rank", "--json", "-k", "1", "--mode", "dense")
    assert json.loads(out)["hits"][0]["source"] == "b.md"


def test_failed_file_gives_non_zero_exit_and_names_it(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = corpus(tmp_path / "c")
    (folder / "broken.ipynb").write_text("{not json")
    code, out, _ = run("ingest", str(folder), "--json")
    summary = json.loads(out)
    assert code == 1
    assert summary["added"] == 2
    assert summary["failed"][0]["path"] == "broken.ipynb"


def test_empty_query_and_empty_store_are_sentences(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("search", "  ")
    assert code == 2 and "query is empty" in err and "Traceback" not in err
    code, _, err = run("search", "drift")
    assert code == 2 and "knowledge base is empty" in err


def test_rm_by_source_and_unknown_ref(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(corpus(tmp_path / "c")))
    code, out, _ = run("rm", "a.md", "--json")
    assert code == 0 and json.loads(out)["removed"][0]["source"] == "a.md"
    code, _, err = run("rm", "a.md")
    assert code == 2 and "No document" in err
    code, out, _ = run("docs", "--json")
    assert [d["source"] for d in json.loads(out)["documents"]] == ["b.md"]


def test_eval_prints_the_three_modes(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("ingest", str(corpus(tmp_path / "c")))
    queries = write(
        tmp_path / "q.jsonl", json.dumps({"query": "low rank adapters", "relevant": ["b.md"]})
    )
    code, out, _ = run("eval", str(queries), "--json")
    result = json.loads(out)
    assert code == 0 and set(result["modes"]) == {"dense", "lexical", "hybrid"}
    assert result["modes"]["hybrid"]["recall@10"] == 1.0


DOCS = 30


def test_killed_ingest_leaves_a_store_that_works_and_finishes_on_rerun(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    folder = tmp_path / "many"
    for i in range(DOCS):
        sections = {
            # long enough that sections are not packed together: six chunks a document
            f"Part {j}": f"Topic {i}-{j}: notes on drift, serving and tuning. " * 12
            for j in range(6)
        }
        write(folder / f"doc{i:02d}.md", markdown_doc(f"Doc {i}", sections))
    home = tmp_path / "home"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        # torch-fp32: the variant of the session model that finishes the job below
        [sys.executable, "-m", "api.cli", "--home", str(home), "--variant", "torch-fp32"]
        # a batch of two documents at a time: stored while the rest are still being encoded
        + ["ingest", "--batch-chunks", "12", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    embedded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            with sqlite3.connect(home / "kb.sqlite", timeout=1) as db:
                embedded = db.execute(
                    "SELECT COUNT(*) FROM chunks WHERE length(embedding) > 0"
                ).fetchone()[0]
        except sqlite3.Error:
            continue
        if embedded >= 12:  # some vectors stored, most still being made
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert 12 <= embedded < DOCS * 6, "the ingest was not caught mid-way"

    base = open_knowledge_base(home, embedder=embedder)
    survivors = base.stats()["documents"]
    assert survivors >= 3
    assert base.stats()["pending_embeddings"] > 0
    # every document stored is whole (all six chunks) and findable by its words at once
    assert all(len(base.get_chunks(doc.doc_id)) == 6 for doc in base.list_documents())
    last = max(base.list_documents(), key=lambda doc: doc.source)
    assert base.search(f"Topic {last.source[3:5].lstrip('0') or '0'}-5", k=3, mode="lexical")
    report = ingest_paths(base, [folder])
    assert report.unchanged == survivors and report.added == DOCS - survivors
    stats = base.stats()
    assert stats["documents"] == DOCS and len(base.index) == stats["chunks"]
    assert stats["pending_embeddings"] == report.pending_embeddings == 0
    # the killed run's claim was handed back at once, and no text was encoded twice
    assert report.embedded == stats["chunks"] - embedded
    base.close()


def test_keys_add_writes_a_loadable_keys_file(tmp_path: Path) -> None:
    from api.http.auth import load_api_keys

    keys_file = tmp_path / "keys.yaml"
    home = ["--home", str(tmp_path / "home")]  # where the audit log records the changes
    runner = CliRunner()
    first = runner.invoke(
        main, [*home, "keys", "add", "--file", str(keys_file), "--role", "organiser"]
    )
    second = runner.invoke(
        main,
        [*home, "keys", "add", "--file", str(keys_file), "--role", "employee", "--employee"]
        + ["liam-chen"],
    )
    assert first.exit_code == second.exit_code == 0
    loaded = load_api_keys(keys_file)
    assert [(k.role, k.employee) for k in loaded] == [
        ("organiser", None),
        ("employee", "liam-chen"),
    ]
    from api.http.auth import hash_key

    printed = second.stdout.strip().splitlines()[0].rsplit(": ", 1)[1]
    assert loaded[1].key_sha256 == hash_key(printed) and printed not in keys_file.read_text()
    refused = runner.invoke(
        main, [*home, "keys", "add", "--file", str(keys_file), "--role", "employee"]
    )
    assert refused.exit_code == 2 and "--employee" in refused.stderr


def test_reembed_moves_the_store_and_later_commands_keep_its_variant(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KB_MODEL_CACHE", str(session_onnx_cache(tmp_path_factory)))
    home = tmp_path / "home"
    runner = CliRunner()
    ingested = runner.invoke(
        main, ["ingest", str(corpus(tmp_path / "c"))], obj=CliContext(home, embedder=embedder)
    )
    assert ingested.exit_code == 0, ingested.output
    before = json.loads(runner.invoke(main, ["--home", str(home), "stats"]).stdout)
    assert before["variant"] == "torch-fp32"  # the store's own, not the default for new ones

    moved = runner.invoke(main, ["--home", str(home), "reembed", "--to", "onnx-int8", "--json"])
    assert moved.exit_code == 0, moved.output
    report = json.loads(moved.stdout)
    assert (report["previous_variant"], report["variant"], report["encoded"]) == (
        "torch-fp32",
        "onnx-int8",
        before["chunks"],
    )
    found = runner.invoke(main, ["--home", str(home), "search", "low rank adapters", "--json"])
    assert json.loads(found.stdout)["hits"][0]["source"] == "b.md"
    refused = runner.invoke(main, ["--home", str(home), "--variant", "torch-fp32", "stats"])
    assert refused.exit_code == 2 and "kb reembed --to torch-fp32" in refused.stderr


def test_kb_ask_quotes_the_answer_and_kb_search_prints_it_first(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    write(
        folder / "drift.md",
        markdown_doc(
            "Drift alerts",
            {
                "Thresholds": "A PSI above 0.25 on a top feature for two days opens a ticket. "
                "Below 0.1 nothing happens.",
                "Owners": "The on-call ML engineer reads every ticket within a day.",
            },
        ),
    )
    assert run("ingest", str(folder))[0] == 0
    code, out, _ = run("ask", "when does a PSI alert open a ticket")
    assert code == 0
    assert out.startswith("Answer: A PSI above 0.25 on a top feature for two days opens a ticket.")
    assert "drift.md" in out.splitlines()[1]
    code, out, _ = run("ask", "what is the capital of France", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["answer"] is None and answer["hits"]
    code, out, _ = run("search", "when does a PSI alert open a ticket?")
    assert out.startswith("Answer: A PSI above 0.25")
    code, out, _ = run("search", "when does a PSI alert open a ticket?", "--json")
    assert json.loads(out)["answer"]["text"].startswith("A PSI above 0.25")


def test_kb_suggest_completes_titles_skills_and_pinyin_and_says_what_was_meant(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    write(
        folder / "tuning.md", markdown_doc("Hyperparameter search", {"Grid": "Try a grid first."})
    )
    write(folder / "过拟合.md", markdown_doc("过拟合", {"正则化": "用权重衰减减轻过拟合。"}))
    assert run("ingest", str(folder))[0] == 0
    assert run("catalog", "load", "data/sample/catalog")[0] == 0
    code, out, _ = run("suggest", "hyperpa", "--json")
    assert code == 0, out
    found = json.loads(out)
    assert found["query"] == "hyperpa" and found["did_you_mean"] is None
    assert {"text": "Hyperparameter tuning", "kind": "skill", "matched": "prefix"} in found[
        "suggestions"
    ]
    assert {"text": "Hyperparameter search", "kind": "title", "matched": "prefix"} in found[
        "suggestions"
    ]
    code, out, _ = run("suggest", "guoni", "--json")  # the pinyin of 过拟合's start
    assert {s["text"] for s in json.loads(out)["suggestions"]} >= {"过拟合"}
    code, out, _ = run("suggest", "hyperparamter serch")
    assert code == 0 and out.splitlines()[-1] == "Did you mean: hyperparameter search"
    code, _, err = run("suggest", "  ")
    assert code != 0 and "Nothing to complete" in err
