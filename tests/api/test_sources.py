"""`kb source ...` and `/sources`: a Git source added, synced, listed and removed from the
command line and over HTTP (organisers only), with the same JSON; a failing source keeps its
last good documents and says why; a timed source is synced by `kb serve`'s scheduler. Each
runs on every backend (`backend_url`: the home folder, or a fresh PostgreSQL database), and on
PostgreSQL two homes, as two machines, share one list of sources."""

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


def _cli(
    home: Path, embedder: HashingEmbedder, url: str | None = None
) -> Callable[..., tuple[int, str, str]]:
    """`kb --home HOME [--database-url URL] ...` in this process: (exit code, stdout, stderr)."""
    on = ["--database-url", url] if url else []

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            main, ["--home", str(home), *on, *args], obj=CliContext(home, embedder=embedder)
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_the_command_line_adds_syncs_lists_and_removes_a_source(
    tmp_path: Path, fake_embedder: HashingEmbedder, backend_url: str | None
) -> None:
    repo = _repo(tmp_path)
    kb = _cli(tmp_path / "home", fake_embedder, backend_url)
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
    tmp_path: Path, fake_embedder: HashingEmbedder, backend_url: str | None
) -> None:
    repo = _repo(tmp_path)
    with running_client(tmp_path / "app", fake_embedder, database_url=backend_url) as client:
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


def test_on_postgresql_two_machines_share_the_sources_and_a_new_one_syncs_by_hash(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    """Two homes on one database are two machines: the source one adds, the other lists and
    syncs. The second has no clone of its own: it fetches one, whose history holds the commit
    the first recorded, so it reads the diff from there: the changed page alone, nothing
    stored twice."""
    repo = _repo(tmp_path)
    one = _cli(tmp_path / "machine-one", fake_embedder, database_url)
    two = _cli(tmp_path / "machine-two", fake_embedder, database_url)
    code, out, _ = one("source", "add", "handbook", "git", repo.url, "--link", LINK, "--sync")
    assert code == 0 and "2 added" in out
    code, out, _ = two("source", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["documents"] == 2 and listed["state"] == {"commit": repo.head()}

    repo.write({"guide.md": page("Guide", "Onboarding steps, revised for the spring cohort.")})
    repo.commit("revise the guide")
    code, out, _ = two("source", "sync", "handbook", "--json")
    (report,) = json.loads(out)
    assert code == 0 and report["mode"] == "diff", report
    assert (report["parsed"], report["updated"], report["added"], report["removed"]) == (
        1,
        1,
        0,
        0,
    )
    assert (tmp_path / "machine-two" / "sources" / "handbook" / "repo.git").is_dir()
    code, out, _ = one("search", "spring", "--mode", "lexical", "--json")
    (hit,) = json.loads(out)["hits"]
    assert hit["link"] == LINK.format(commit=repo.head(), path="guide.md")

    with running_client(tmp_path / "app", fake_embedder, database_url=database_url) as client:
        over_http = client.get("/sources", headers=auth("organiser")).json()
    code, out, _ = one("source", "list", "--json")
    assert over_http == json.loads(out)  # the same JSON, from either machine
    code, out, _ = one("source", "rm", "handbook", "--json")
    assert json.loads(out) == {"name": "handbook", "removed_documents": 2, "kept_documents": False}
    code, out, _ = two("docs", "--json")
    assert json.loads(out)["documents"] == []
    code, out, _ = two("source", "list", "--json")
    assert json.loads(out) == []


def test_a_folder_source_is_followed_while_the_service_runs(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    """A file landing in a folder source's folder is found within seconds, its source never
    synced by hand and never due by the clock (manual); one that goes is forgotten."""
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "intro.md").write_text("# Intro\n\nWelcome to the programme.\n", encoding="utf-8")

    def found(client: Any, word: str) -> bool:
        answer = client.get(
            "/search", params={"q": word, "mode": "lexical"}, headers=auth("admin")
        ).json()
        return any(hit["source"].endswith(".md") for hit in answer["hits"])

    def within(seconds: float, holds: Any) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if holds():
                return True
            time.sleep(0.2)
        return False

    with running_client(tmp_path / "app", fake_embedder) as client:
        body = {"name": "drop", "kind": "folder", "location": str(folder)}
        assert client.post("/sources", json=body, headers=auth("organiser")).status_code == 201
        ran = client.post("/sources/drop/sync?wait=true", headers=auth("organiser"))
        assert ran.json()["added"] == 1, ran.text
        time.sleep(6)  # the service's round that starts watching the new source (5 s)
        (folder / "quokka.md").write_text(
            "# Quokkas\n\nThe quokkaplaybook explains retrieval evaluation.\n", encoding="utf-8"
        )
        assert within(30, lambda: found(client, "quokkaplaybook"))
        (folder / "quokka.md").unlink()
        assert within(30, lambda: not found(client, "quokkaplaybook"))
