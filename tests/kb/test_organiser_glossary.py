"""The organisers' glossary (`glossary.yaml` in the catalogue, or `kb glossary load FILE`): the
term pairs organisers write by hand win over the mined pairs and the dictionary, pairs they
block are never used, a faulty file is refused whole with every fault named, and the
glossary is kept in the store, so that every replica on either backend uses it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.backends import open_backend
from api.cli import main
from api.cli.common import CliContext
from ingest import ingest_paths
from kb import KnowledgeBase, SentenceTransformerEmbedder, open_knowledge_base
from kb.language.organisers import GlossaryInvalidError, parse_glossary
from kb.search import glossary as store_glossary
from kb.search.glossary import StoreGlossary, store_organisers, stored_organisers
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write

CATALOGS = Path(__file__).parents[1] / "catalogs"
GLOSSARY = """\
terms:
  - zh: 微调
    en: [fine-tuning, finetuning]
block:
  - zh: 网络
    en: VGG
  - zh: 梯度
    en: gradient
"""


# -- the file ----------------------------------------------------------------------------------


def test_a_glossary_file_gives_terms_and_blocked_pairs() -> None:
    organisers = parse_glossary(GLOSSARY, "catalog/glossary.yaml")
    assert [(t.chinese, t.english) for t in organisers.terms] == [
        ("微调", ("fine-tuning", "finetuning"))
    ]
    assert organisers.blocks("網絡", "vgg")  # traditional Chinese and any case are the same pair
    assert organisers.english_in("怎么微調模型") == (["fine-tuning", "finetuning"], "怎么 模型")
    assert organisers.chinese_in("Fine-tuning a model")[0] == ["微调"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "terms:\n  - zh: VGG\n    en: 网络\n",
            "glossary.yaml, line 2: terms entry #1 (zh 'VGG'): 'zh' has no Chinese characters",
        ),
        (
            "terms:\n  - zh: 微调\n    en: 微调\n",
            "line 3: terms entry #1 (zh '微调'): 'en' must be English",
        ),
        ("terms:\n  - zh: ''\n    en: x\n", "'zh' must be the Chinese term, found an empty string"),
        ("terms:\n  - zh: 微调\n    en: []\n", "'en' is an empty list: give at least one"),
        ("terms:\n  - zh: 微调\n    en: yes\n", "found true/false (quote it)"),
        ("terms:\n  - zh: 微调\n", "terms entry #1 (zh '微调'): missing field 'en'"),
        (
            "terms:\n  - zh: 微调\n    en: x\n    eng: y\n",
            "line 4: terms entry #1 (zh '微调'): unknown field 'eng' (did you mean 'en'?)",
        ),
        ("term:\n  - zh: 微调\n    en: x\n", "unknown key 'term' (did you mean 'terms'?)"),
        ("terms: 微调\n", "terms: must be a list of entries"),
        ("- zh: 微调\n", "file: must be a mapping with terms and/or block, found a list"),
        ("", "file: is empty"),
        ("terms: [\n", "file: not valid YAML"),
        (
            "terms:\n  - {zh: 微调, en: x}\n  - {zh: 微調, en: y}\n",
            "line 3: terms entry #2 (zh '微調'): '微調' is already defined by terms entry #1",
        ),
        (
            "terms:\n  - {zh: 微调, en: x}\nblock:\n  - {zh: 微调, en: X}\n",
            "line 4: block entry #1 (zh '微调'): '微调' = 'X' is also under terms",
        ),
    ],
)
def test_a_faulty_glossary_is_refused_with_where_and_what_to_fix(text: str, expected: str) -> None:
    with pytest.raises(GlossaryInvalidError) as raised:
        parse_glossary(text, "catalog/glossary.yaml")
    assert expected in str(raised.value)
    assert "nothing was loaded" in str(raised.value)


def test_every_fault_is_reported_at_once() -> None:
    text = "terms:\n  - {zh: VGG, en: x}\n  - {zh: 微调, en: 7}\nblock: {zh: 网络}\n"
    with pytest.raises(GlossaryInvalidError) as raised:
        parse_glossary(text, "glossary.yaml")
    assert [(f.line, f.entry) for f in raised.value.faults] == [
        (2, "terms entry #1 (zh 'VGG')"),
        (3, "terms entry #2 (zh '微调')"),
        (4, "block"),
    ]


# -- search ------------------------------------------------------------------------------------


@pytest.fixture
def tuning_kb(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[KnowledgeBase]:
    """Chinese notes on adapting a model: one names 精调 with its English (the miner reads
    精调 = fine-tuning), one says 精调 alone, one says 微调 alone (the organisers' term)."""
    folder = tmp_path / "notes"
    write(
        folder / "glossary-notes.md",
        markdown_doc("术语", {"说明": "在下游数据上继续训练预训练模型称为*精调*（fine-tuning）。"}),
    )
    write(
        folder / "jingtiao.md",
        markdown_doc("精调记录", {"做法": "精调时学习率要小，只训练三轮，精调后在验证集上评估。"}),
    )
    write(
        folder / "weitiao.md",
        markdown_doc("微调记录", {"做法": "微调时冻结底层，只更新顶部几层，微调三轮就够了。"}),
    )
    write(
        folder / "vgg.md",
        markdown_doc("特征", {"做法": "我们用 VGG（网络）提取图像特征，再接一个分类头。"}),
    )
    write(folder / "drift.md", markdown_doc("Drift", {"Alerts": "Compare feature distributions."}))
    base = open_knowledge_base(tmp_path / "home", embedder=embedder)
    ingest_paths(base, [folder])
    yield base
    base.close()


def test_an_organisers_term_wins_over_the_mined_pair_for_an_english_question(
    tuning_kb: KnowledgeBase,
) -> None:
    glossary = tuning_kb.searcher.glossary
    assert "精调" in glossary.translate("fine-tuning", "en")  # mined from the material
    before = [hit.source for hit in tuning_kb.search("fine-tuning", k=5)]
    assert before.index("jingtiao.md") < before.index("weitiao.md")

    glossary.set_organisers(parse_glossary(GLOSSARY, "glossary.yaml"))
    assert glossary.translate("fine-tuning", "en") == ["微调"]  # theirs alone
    after = [hit.source for hit in tuning_kb.search("fine-tuning", k=5)]
    assert after.index("weitiao.md") < after.index("jingtiao.md")
    # and back: a Chinese question with their term gets their English names
    assert glossary.translate("怎么微调", "zh")[:2] == ["fine-tuning", "finetuning"]


def test_a_blocked_pair_is_never_used_whether_mined_or_from_the_dictionary(
    tuning_kb: KnowledgeBase,
) -> None:
    glossary = tuning_kb.searcher.glossary
    assert "网络" in glossary.translate("VGG", "en")  # the miner read "VGG（网络）" as a pair
    assert "梯度" in glossary.translate("gradient", "en")  # CC-CEDICT
    glossary.set_organisers(parse_glossary(GLOSSARY, "glossary.yaml"))
    assert "网络" not in glossary.translate("VGG features", "en")
    assert "VGG" not in " ".join(glossary.translate("网络特征", "zh"))
    assert "梯度" not in glossary.translate("gradient descent", "en")
    assert "坡度" in glossary.translate("gradient", "en")  # its other meaning is not blocked
    listed = {(e.chinese, e.english): e for e in glossary.entries()}
    assert listed[("网络", "VGG")].used is False and listed[("网络", "VGG")].because == "blocked"
    assert listed[("微调", "fine-tuning")].source == "organisers"
    assert listed[("精调", "fine-tuning")].because == "organisers define this term"


# -- kept in the store, on both backends ---------------------------------------------------------


def test_the_organisers_glossary_is_kept_in_the_store_for_every_replica(
    backend_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = open_backend(tmp_path / "home", backend_url)
    writer, replica = chosen.open_store(), chosen.open_store()
    try:
        searching = StoreGlossary(replica)
        assert searching.organisers() is None
        organisers = parse_glossary(GLOSSARY, "glossary.yaml", loaded_from="catalog")
        version = writer.version
        store_organisers(writer, organisers)
        assert stored_organisers(replica) == organisers
        assert writer.version == version  # no document changed
        assert searching.organisers() is None  # read again within ORGANISERS_CHECK_S only
        monkeypatch.setattr(store_glossary, "ORGANISERS_CHECK_S", 0.0)
        kept = searching.organisers()
        assert kept == organisers and kept is not None and kept.loaded_from == "catalog"
        store_organisers(writer, None)
        assert searching.organisers() is None
    finally:
        writer.close()
        replica.close()


# -- the command line ----------------------------------------------------------------------------


def _cli(home: Path) -> tuple[CliRunner, CliContext]:
    return CliRunner(), CliContext(home, embedder=HashingEmbedder())


def _run(home: Path, *args: str) -> Result:
    runner, context = _cli(home)
    return runner.invoke(main, ["--home", str(home), *args], obj=context)


def test_kb_catalog_load_brings_the_catalogues_glossary_and_kb_glossary_lists_it(
    tmp_path: Path,
) -> None:
    home, catalog = tmp_path / "home", tmp_path / "catalog"
    shutil.copytree(CATALOGS / "small", catalog)
    (catalog / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    write(tmp_path / "c" / "vgg.md", markdown_doc("特征", {"做法": "我们用 VGG（网络）提取特征。"}))
    assert _run(home, "ingest", str(tmp_path / "c")).exit_code == 0

    run = _run(home, "catalog", "load", str(catalog), "--json")
    assert run.exit_code == 0, run.output
    done = json.loads(run.stdout)["glossary"]
    assert (done["action"], done["terms"], done["blocked"]) == ("loaded", 1, 2)

    run = _run(home, "glossary", "--json")
    assert run.exit_code == 0, run.output
    listing = json.loads(run.stdout)
    assert [(p["chinese"], p["english"], p["source"], p["used"]) for p in listing["pairs"]] == [
        ("微调", "fine-tuning", "organisers", True),
        ("微调", "finetuning", "organisers", True),
        ("网络", "VGG", "mined", False),
    ]
    mined = listing["pairs"][2]
    assert (mined["count"], mined["sources"], mined["because"]) == (1, ["vgg.md"], "blocked")
    assert listing["organisers"]["loaded_from"] == "catalog"
    text = _run(home, "glossary").output
    assert "微调\tfine-tuning\t0\t" in text and "\torganisers\n" in text
    assert "网络\tVGG\t1\tvgg.md\tmined (blocked: not used)" in text

    # a catalogue without glossary.yaml no longer defines one: the glossary it brought goes
    (catalog / "glossary.yaml").unlink()
    run = _run(home, "catalog", "load", str(catalog))
    assert run.exit_code == 0 and "Removed the organisers' glossary" in run.output
    assert json.loads(_run(home, "glossary", "--json").stdout)["organisers"] is None


def test_a_glossary_loaded_by_hand_outlives_a_catalogue_without_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write(tmp_path / "terms.yaml", GLOSSARY)
    run = _run(home, "glossary", "load", str(path))
    assert run.exit_code == 0 and "1 term(s) and 2 blocked pair(s)" in run.output
    run = _run(home, "catalog", "load", str(CATALOGS / "small"))
    assert run.exit_code == 0 and "Kept the organisers' glossary" in run.output
    run = _run(home, "glossary", "clear")
    assert run.exit_code == 0, run.output
    assert json.loads(_run(home, "glossary", "--json").stdout)["organisers"] is None


def test_a_faulty_glossary_loads_nothing_and_names_every_fault(tmp_path: Path) -> None:
    home, catalog = tmp_path / "home", tmp_path / "catalog"
    good = write(tmp_path / "good.yaml", GLOSSARY)
    assert _run(home, "glossary", "load", str(good)).exit_code == 0
    bad = write(tmp_path / "bad.yaml", "terms:\n  - zh: VGG\n    en: 网络\n")

    run = _run(home, "glossary", "load", str(bad), "--json")
    assert run.exit_code == 2
    fault = json.loads(run.stdout)["faults"][0]
    assert (fault["file"], fault["line"], fault["entry"]) == (
        "bad.yaml",
        2,
        "terms entry #1 (zh 'VGG')",
    )

    # in a catalogue: its faults beside the catalogue's own, and the catalogue not loaded
    shutil.copytree(CATALOGS / "faulty", catalog)
    shutil.copy(bad, catalog / "glossary.yaml")
    run = _run(home, "catalog", "load", str(catalog), "--json")
    assert run.exit_code == 2
    faults = json.loads(run.stdout)["faults"]
    assert len(faults) == 12 + 2  # the faulty catalogue's twelve, and the glossary's two
    assert faults[-2]["entry"] == "terms entry #1 (zh 'VGG'), line 2"
    assert "no catalogue loaded yet" in _run(home, "gaps", "alice").output
    stored = json.loads(_run(home, "glossary", "--json").stdout)["organisers"]
    assert stored["source"] == str(good.resolve())  # the good glossary is still in force


def test_kb_migrate_brings_the_organisers_glossary_along(
    kb: KnowledgeBase, tmp_path: Path, database_url: str
) -> None:
    from kb.store.migrate import migrate_store
    from kb.store.postgres import PgStore

    write(tmp_path / "c" / "a.md", markdown_doc("微调", {"做法": "微调三轮。"}))
    ingest_paths(kb, [tmp_path / "c"])
    organisers = parse_glossary(GLOSSARY, "glossary.yaml")
    store_organisers(kb.store, organisers)
    target = PgStore(database_url)
    try:
        migrate_store(kb.store, target)
        assert stored_organisers(target) == organisers
    finally:
        target.close()


def test_put_catalog_takes_a_glossary_yaml_as_kb_catalog_load_does(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    from tests.api_helpers import auth, files_part, running_client

    parts: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted((CATALOGS / "small").glob("*.yaml"))
    }
    with running_client(tmp_path, fake_embedder) as client:
        bad = {**parts, "glossary.yaml": "terms:\n  - {zh: 微调, en: 微调}\n"}
        response = client.put("/catalog", files=files_part(bad), headers=auth("organiser"))
        assert response.status_code == 422
        faults = response.json()["error"]["faults"]
        assert faults[0]["entry"] == "terms entry #1 (zh '微调'), line 2"

        good = {**parts, "glossary.yaml": GLOSSARY}
        response = client.put("/catalog", files=files_part(good), headers=auth("organiser"))
        assert response.status_code == 200, response.text
        done = response.json()["glossary"]
        assert (done["action"], done["source"], done["terms"]) == (
            "loaded",
            "upload (glossary.yaml)",
            1,
        )
        kb = client.app.state.services.kb  # type: ignore[attr-defined]
        assert kb.searcher.glossary.translate("fine-tuning", "en") == ["微调"]

        response = client.put("/catalog", files=files_part(parts), headers=auth("organiser"))
        assert response.json()["glossary"]["action"] == "removed"
        assert kb.searcher.glossary.organisers() is None


def test_get_glossary_lists_the_pairs_for_organisers_only(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    from tests.api_helpers import auth, files_part, running_client

    parts: dict[str, bytes | str] = {
        p.name: p.read_bytes() for p in sorted((CATALOGS / "small").glob("*.yaml"))
    }
    with running_client(tmp_path, fake_embedder) as client:
        assert client.get("/glossary").status_code == 401
        assert client.get("/glossary", headers=auth("liam")).status_code == 403
        empty = client.get("/glossary", headers=auth("organiser")).json()
        assert empty == {"pairs": [], "organisers": None, "blocked": []}

        good = {**parts, "glossary.yaml": GLOSSARY}
        assert client.put("/catalog", files=files_part(good), headers=auth("organiser")).is_success
        listed = client.get("/glossary", headers=auth("organiser")).json()
        theirs = [pair for pair in listed["pairs"] if pair["source"] == "organisers"]
        assert {(pair["chinese"], pair["english"]) for pair in theirs} >= {("微调", "fine-tuning")}
        assert listed["organisers"]["terms"] == 1
        assert (
            client.get("/glossary", headers=auth("organiser"), params={"min_count": 0}).status_code
            == 422
        )
