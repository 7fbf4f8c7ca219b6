"""Near duplicates at the interfaces: `kb duplicates --json` and `GET /analytics/duplicates`
list the same groups; `kb search --json` and `GET /search` show a group once with `also_in`;
`kb dedupe` relinks the store. Mechanics, on the hashing stand-in model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from tests.api_helpers import CORPUS, auth, ingest, running_client
from tests.fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parents[2]
TEXT = (
    ROOT / "data" / "sample" / "docs" / "recsys-101" / "05-ranking-metrics-cheat-sheet.md"
).read_text(encoding="utf-8")
FILES = {"metrics.md": TEXT, "metrics-repost.md": TEXT.replace("ordered lists", "ranked lists")}


def test_kb_duplicates_search_and_dedupe(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    home, folder = tmp_path / "home", tmp_path / "corpus"
    folder.mkdir()
    for name, text in {**CORPUS, **FILES}.items():
        (folder / name).write_text(text, encoding="utf-8")

    def kb(*args: str) -> Any:
        obj = CliContext(home=home, embedder=fake_embedder)
        return CliRunner().invoke(main, ["--home", str(home), *args], obj=obj)

    assert kb("ingest", str(folder)).exit_code == 0
    listing = json.loads(kb("duplicates", "--json").output)
    assert [
        (g["canonical"]["source"], [m["source"] for m in g["members"]]) for g in listing["groups"]
    ] == [
        ("metrics-repost.md", ["metrics.md"])  # ingested in name order: the re-post came first
    ]
    assert listing["copies"] == 1 and listing["threshold"] > 0
    hits = json.loads(kb("search", "ranking metrics NDCG cheat sheet", "--json").output)["hits"]
    shown = [h for h in hits if h["source"] in FILES]
    assert len(shown) == 1
    assert [a["source"] for a in shown[0]["also_in"]] == [
        next(name for name in FILES if name != shown[0]["source"])
    ]
    assert all(h["also_in"] == [] for h in hits if h["source"] not in FILES)
    done = json.loads(kb("dedupe", "--json").output)
    assert (done["groups"], done["copies"]) == (1, 1)
    assert "1 group(s)" in kb("duplicates").output


def test_organisers_list_duplicates_over_http(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with running_client(tmp_path, fake_embedder) as client:
        ingest(client, FILES)
        assert client.get("/analytics/duplicates", headers=auth("liam")).status_code == 403
        answer = client.get("/analytics/duplicates", headers=auth("organiser"))
        assert answer.status_code == 200
        (group,) = answer.json()["groups"]
        assert {group["canonical"]["source"], group["members"][0]["source"]} == set(FILES)
        assert group["members"][0]["similarity"] >= answer.json()["threshold"]
        hits = client.get(
            "/search", params={"q": "ranking metrics NDCG"}, headers=auth("organiser")
        ).json()["hits"]
        assert len([h for h in hits if h["source"] in FILES]) == 1
        assert [len(h["also_in"]) for h in hits if h["source"] in FILES] == [1]
