"""The PostgreSQL backend's own commands, as docs/postgresql.md shows them: `kb db status` /
`kb db upgrade`, `kb migrate --to URL` (an embedded home copied without re-embedding,
resumable), and connection strings that never show their password."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psycopg
from click.testing import CliRunner

from api.backends import PostgresBackend
from api.cli import main
from api.cli.common import CliContext
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write

MODULE = "nlp-preprocessing"  # a module of the sample catalogue


class CountingEmbedder(HashingEmbedder):
    """The test model, counting the texts it is asked to embed."""

    texts = 0

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return super().encode_documents(texts)


def kb_cli(home: Path, embedder: HashingEmbedder, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def corpus(folder: Path) -> Path:
    write(
        folder / "drift.md",
        markdown_doc(
            "Drift alerts",
            {"PSI": "Population stability index on weekly snapshots.", "Alerts": "Page on 0.2."},
            team="mlops",
            skills=["model-monitoring"],
        ),
    )
    write(folder / "lora.md", markdown_doc("LoRA", {"Rank": "Rank 8 adapters, alpha 16."}))
    write(folder / "模型.md", markdown_doc("模型压缩", {"量化": "int8 量化让推理延迟减半。"}))
    return folder


def test_db_status_says_an_upgrade_is_due_until_kb_db_upgrade(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    home = tmp_path / "home"
    code, out, _ = kb_cli(home, fake_embedder, "--database-url", database_url, "db", "status")
    assert code == 1 and "kb db upgrade" in out
    code, out, _ = kb_cli(
        home, fake_embedder, "--database-url", database_url, "db", "upgrade", "--json"
    )
    assert code == 0
    latest = {
        part: max(m.version for m in steps)
        for part, steps in PostgresBackend(Path("."), "postgresql://").schema_parts()
    }
    assert json.loads(out)["versions"] == latest and set(latest) == {
        "kb",
        "kb_duplicates",
        "kb_links",
        "kb_sources",
        "recommender",
        "ingest",
        "analytics",
        "audit",
        "frameworks",
        "xapi",
    }
    code, out, _ = kb_cli(
        home, fake_embedder, "--database-url", database_url, "db", "status", "--json"
    )
    assert code == 0 and json.loads(out)["upgrade_due"] is False
    # Upgrading again changes nothing.
    code, out, _ = kb_cli(
        home, fake_embedder, "--database-url", database_url, "db", "upgrade", "--json"
    )
    assert set(json.loads(out)["applied"].values()) == {0}


def test_migrate_copies_the_home_without_re_embedding_and_resumes(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    home = tmp_path / "home"
    assert kb_cli(home, fake_embedder, "ingest", str(corpus(tmp_path / "c")))[0] == 0
    code, out, _ = kb_cli(home, fake_embedder, "catalog", "load", "data/sample/catalog")
    assert code == 0, out
    code, out, _ = kb_cli(home, fake_embedder, "complete", "liam-chen", MODULE, "--score", "0.9")
    assert code == 0, out

    counting = CountingEmbedder()
    code, out, _ = kb_cli(home, counting, "migrate", "--to", database_url, "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["documents"] == first["copied"] == 3 and first["unchanged"] == 0
    assert first["recommender"]["catalog_entries"] > 0
    assert first["recommender"]["events_copied"] == 1
    assert counting.texts == 0  # nothing re-embedded

    code, out, _ = kb_cli(home, fake_embedder, "migrate", "--to", database_url, "--json")
    again = json.loads(out)
    assert again["copied"] == 0 and again["unchanged"] == 3
    assert again["recommender"]["events_copied"] == 0

    # The database answers like the home: same documents, same hits.
    on_pg = ["--database-url", database_url]
    for query in ("population stability", "量化"):
        code, here, _ = kb_cli(home, fake_embedder, "search", query, "--json")
        code, there, _ = kb_cli(home, fake_embedder, *on_pg, "search", query, "--json")
        assert code == 0
        hits_here, hits_there = json.loads(here)["hits"], json.loads(there)["hits"]
        assert hits_here[0]["source"] == hits_there[0]["source"]  # the rest tie at ~0 here
        assert {h["source"] for h in hits_here} == {h["source"] for h in hits_there}
    code, docs, _ = kb_cli(home, fake_embedder, *on_pg, "docs", "--json")
    listed = [d["source"] for d in json.loads(docs)["documents"]]
    assert listed == ["drift.md", "lora.md", "模型.md"]  # in the same order as the home
    code, stats, _ = kb_cli(home, fake_embedder, *on_pg, "stats")
    assert json.loads(stats)["backend"] == "postgresql"


def test_migrate_links_the_copied_near_duplicates_in_the_database(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    folder = corpus(tmp_path / "c")
    text = (folder / "drift.md").read_text(encoding="utf-8")
    write(folder / "wiki" / "drift-copy.md", text)  # the same write-up posted twice
    home = tmp_path / "home"
    assert kb_cli(home, fake_embedder, "ingest", str(folder))[0] == 0
    code, out, _ = kb_cli(home, fake_embedder, "migrate", "--to", database_url, "--json")
    assert code == 0, out
    assert json.loads(out)["duplicates"] == {"groups": 1, "copies": 1}
    on_pg = ["--database-url", database_url]
    code, out, _ = kb_cli(home, fake_embedder, *on_pg, "duplicates", "--json")
    assert code == 0, out
    (group,) = json.loads(out)["groups"]
    sources = {group["canonical"]["source"], *(m["source"] for m in group["members"])}
    assert sources == {"drift.md", "wiki/drift-copy.md"}


def test_a_migration_into_a_store_of_another_model_is_refused(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    home = tmp_path / "home"
    kb_cli(home, fake_embedder, "ingest", str(corpus(tmp_path / "c")))
    with psycopg.connect(database_url, autocommit=True) as conn:  # another model got there first
        kb_cli(tmp_path / "other", fake_embedder, "--database-url", database_url, "stats")
        conn.execute(
            "UPDATE kb_meta SET value = jsonb_set(value::jsonb, '{model}', '\"other\"')::text "
            "WHERE key = 'manifest'"
        )
    code, _, err = kb_cli(home, fake_embedder, "migrate", "--to", database_url)
    assert code == 2 and "never mix" in err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM kb_documents").fetchone() == (0,)


def test_a_password_never_shows_in_messages(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    url = "postgresql://kb:s3cret-pw@127.0.0.1:1/kb"  # nothing listens on port 1
    code, out, err = kb_cli(tmp_path / "home", fake_embedder, "--database-url", url, "stats")
    assert code == 2
    assert "s3cret-pw" not in out + err and "***" in err


def test_a_url_that_is_not_postgresql_is_refused(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    code, _, err = kb_cli(
        tmp_path / "home", fake_embedder, "--database-url", "mysql://u:pw@h/db", "stats"
    )
    assert code == 2 and "postgresql://" in err and "pw@" not in err


def test_an_unreachable_database_is_one_sentence_for_every_recommender_command(
    tmp_path: Path,
) -> None:
    """Nothing listens on port 1: each command says so in a sentence (exit status 1), with the
    password hidden, instead of a traceback."""
    url = "postgresql://kb:s3cret-pw@127.0.0.1:1/kb"
    for command in (
        ["gaps", "liam-chen"],
        ["catalog", "load", "data/sample/catalog"],
        ["graph", "bottlenecks"],
    ):
        code, out, err = kb_cli(
            tmp_path / "home", HashingEmbedder(), "--database-url", url, *command
        )
        assert code == 1, (command, out, err)
        assert "Cannot connect to postgresql://kb:***@127.0.0.1:1/kb" in err, (command, err)
        assert "s3cret-pw" not in out + err and "Traceback" not in err
