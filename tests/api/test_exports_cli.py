"""`kb ingest EXPORT.zip`: an export is recognised and kept in step (docs/formats.md#exports)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from tests.fakes import HashingEmbedder
from tests.fixtures.exports.generate import confluence_export


def test_kb_ingest_of_a_newer_confluence_export_updates_adds_and_removes_its_pages(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    home = tmp_path / "home"

    def kb(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=fake_embedder)
        )
        return result.exit_code, result.stdout

    code, out = kb("ingest", str(confluence_export(tmp_path / "ENG-v1.zip", 1)), "--json")
    assert code == 0 and json.loads(out)["added"] == 9
    code, out = kb("ingest", str(confluence_export(tmp_path / "ENG-v2.zip", 2)), "--json")
    summary = json.loads(out)
    assert code == 0
    assert (summary["added"], summary["updated"], summary["removed"]) == (1, 1, 3)
    code, out = kb("docs", "--json")
    sources = {doc["source"] for doc in json.loads(out)["documents"]}
    assert (
        "confluence:ENG/Code review" in sources and "confluence:ENG/Release process" not in sources
    )
