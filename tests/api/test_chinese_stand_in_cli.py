"""`KB_CHINESE_STAND_IN`: the setting reaches `kb search` (the stand-in itself is tested in
tests/kb/test_chinese_stand_in.py). Real model, small data."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from kb import SentenceTransformerEmbedder
from tests.helpers import write
from tests.kb.test_chinese_stand_in import CHINESE, ENGLISH, GLOSSARY, QUERY


def test_kb_search_uses_it_when_the_setting_says_so(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: SentenceTransformerEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path_factory.mktemp("cli-mixed")
    for name, text in {**ENGLISH, **CHINESE}.items():
        write(folder / name, text)
    glossary = write(folder.parent / "glossary.yaml", GLOSSARY)
    home = tmp_path_factory.mktemp("cli-home")

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--home", str(home), *args], obj=CliContext(home, embedder=embedder)
        )
        assert result.exit_code == 0, result.output
        return result.output

    run("ingest", str(folder))
    run("glossary", "load", str(glossary))
    first: dict[str, str] = {}
    for value in ("0", "1"):
        monkeypatch.setenv("KB_CHINESE_STAND_IN", value)
        found = json.loads(run("search", QUERY, "--json", "-k", "1"))["hits"]
        first[value] = found[0]["source"]
    assert first == {"0": "validation.md", "1": "overfitting-zh.md"}
