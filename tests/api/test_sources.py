"""`kb source ...` and `/sources`: a Git source added, synced, listed and removed from the
command line and over HTTP (organisers only), with the same JSON; a failing source keeps its
last good documents and says why; a timed source is synced by `kb serve`'s scheduler."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from tests.api_helpers import auth, running_client
from tests.fakes import HashingEmbedder
from tests.git_helpers import Repo, page

LINK = "https://git.example.com/handbook/blob/{commit}/{path}"


def _repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "git")
    repo.write(
        {
            "guide.md": page("Guide", "Onboarding steps for the training programme."),
            "docs/rag.md": page("RAG", "Retrieval augmented generation, step by step."),
        }
    )
    repo.commit("first")
    return repo


def _cli(home: Path, embedder: HashingEmbedder) -> Callable[..., tuple[int, str, str]]:
    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_the_command_line_adds_syncs_lists_and_removes_a_source(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    repo = _repo(tmp_path)
    kb = _cli(tmp_path / "home", fake_embedder)
    code, out, _ = kb(
        "source", "add", "handbook", "git", repo.url, "--branch", "main",
        "--default", "docs/**: team=nlp", "--link", LINK, "--every", "1h",
    )  # fmt: skip
    assert code == 0 and "Added the git source handbook" in out
    code, out, _ = kb("source", "sync", "--json")
    (report,) = json.loads(out)
    assert (code, report["mode"], report["added"], report["error"]) == (0, "full", 2, None)
    code, out, _ = kb("source", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["documents"] == 2 and listed["state"] == {"commit": repo.head()}
    assert listed["every"] == 3600 and listed["next_run_at"] and listed["error"] is None
    code, out, _ = kb("search", "retrieval", "--mode", "lexical", "--json")
    hit = json.loads(out)["hits"][0] if isinstance(json.loads(out), dict) else json.loads(out)[0]
    assert hit["link"] == LINK.format(commit=repo.head(), path="docs/rag.md")
    assert hit["team"] == "nlp"

    shutil.rmtree(repo.remote)  # the server is gone: the sync fails, the documents stay
    code, out, err = kb("source", "sync", "handbook")
    assert code == 1 and "handbook: failed: git fetch failed" in err
    code, out, _ = kb("source", "list")
    assert "2 doc(s)" in out and "failing: git fetch failed" in out

    code, out, _ = kb("source", "add", "handbook", "git", repo.url)
    assert code == 2 and "already a source called handbook" in out + _
    code, out, _ = kb("source", "add", "x", "git", repo.url, "--every", "sometimes")
    assert code == 2 and "--every 'sometimes'" in out + _
    code, out, _ = kb("source", "rm", "handbook", "--keep-documents")
    assert code == 0 and "kept its documents" in out
    code, out, _ = kb("docs", "--json")
    assert len(json.loads(out)["documents"]) == 2


def test_organisers_manage_sources_over_http(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    repo = _repo(tmp_path)
    with running_client(tmp_path / "app", fake_embedder) as client:
        body: dict[str, Any] = {
            "name": "handbook",
            "kind": "git",
            "location": repo.url,
            "defaults": ["docs/**: team=nlp"],
            "link": LINK,
        }
        for who in ("liam", "daniel"):  # employees may not
            assert client.get("/sources", headers=auth(who)).status_code == 403
            assert client.post("/sources", json=body, headers=auth(who)).status_code == 403
        created = client.post("/sources", json=body, headers=auth("organiser"))
        assert created.status_code == 201, created.text
        assert created.json()["next_run_at"] is None  # manual
        again = client.post("/sources", json=body, headers=auth("organiser"))
        assert again.status_code == 409
        bad = client.post(
            "/sources", json={**body, "name": "y", "link": "{sha}"}, headers=auth("organiser")
        )
        assert bad.status_code == 400 and "{commit}" in bad.json()["error"]["message"]

        ran = client.post("/sources/handbook/sync?wait=true", headers=auth("organiser"))
        assert ran.status_code == 202 and ran.json()["added"] == 2, ran.text
        hits = client.get("/search", params={"q": "onboarding", "mode": "lexical"},
                          headers=auth("admin")).json()  # fmt: skip
        hit = hits["hits"][0] if isinstance(hits, dict) else hits[0]
        assert hit["link"] == LINK.format(commit=repo.head(), path="guide.md")

        # made due: the scheduler of this process syncs it within seconds
        repo.write({"docs/rag.md": None})
        repo.commit("remove a page")
        queued = client.post("/sources/handbook/sync", headers=auth("organiser"))
        assert queued.json() == {**queued.json(), "name": "handbook", "queued": True}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            (source,) = client.get("/sources", headers=auth("organiser")).json()
            if source["state"].get("commit") == repo.head():
                break
            time.sleep(0.2)
        assert source["documents"] == 1 and source["summary"]["removed"] == 1

        gone = client.delete("/sources/handbook", headers=auth("organiser"))
        assert gone.json() == {"name": "handbook", "removed_documents": 1, "kept_documents": False}
        assert client.get("/sources", headers=auth("organiser")).json() == []
        assert client.delete("/sources/handbook", headers=auth("organiser")).status_code == 404
