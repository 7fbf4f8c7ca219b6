"""The knowledge base's own glossary: term pairs its Chinese material names in brackets, mined
from the store and used before the dictionary when a query crosses languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import ingest_paths
from kb import KnowledgeBase
from kb.language.mining import MinedGlossary, TermPair, mine_pairs
from tests.helpers import markdown_doc, write


@pytest.mark.parametrize(
    ("text", "pairs"),
    [
        (
            "卷积神经网络（convolutional neural network，CNN）是一类强大的网络。",
            [("卷积神经网络", "convolutional neural network"), ("卷积神经网络", "CNN")],
        ),
        ("这种现象称为*过拟合*（overfitting）。", [("过拟合", "overfitting")]),
        ("我们在线性层前定义了展平层（flatten）", [("展平层", "flatten")]),
        ("常用的正则化方法是 dropout（暂退法）。", [("暂退法", "dropout")]),
        ("稱為*過擬合*(overfitting)", [("过拟合", "overfitting")]),  # traditional, half-width
        ("调用 f(x) 和 loss(net(features))", []),  # code, not a term
        ("四角坐标（xmin, ymin, xmax, ymax）", []),  # a tuple, not a name
        ("学习率（lr = 0.1）", []),  # a formula
    ],
)
def test_pairs_are_read_from_bracketed_terms(text: str, pairs: list[tuple[str, str]]) -> None:
    assert mine_pairs(text) == [TermPair(zh, en) for zh, en in pairs]


def test_recurring_pairs_come_first_and_a_rare_misreading_is_dropped() -> None:
    texts = [("a.md", "*过拟合*（overfitting）")] * 5 + [("b.md", "*过拟合*（overfit）")]
    mined = MinedGlossary(texts)
    assert [(p.chinese, p.english, p.count) for p in mined.pairs] == [("过拟合", "overfitting", 5)]
    assert mined.pairs[0].sources == ("a.md",)
    assert mined.english_in("为什么会过拟合") == (["overfitting"], "为什么会 ")
    found, rest = mined.chinese_in("How to avoid Overfitting?")
    assert (found, rest.split()) == (["过拟合"], ["how", "to", "avoid", "?"])


def test_an_english_question_reaches_chinese_material_through_the_mined_terms(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "c"
    write(
        folder / "regularisation.md",
        markdown_doc(
            "正则化",
            {"定义": "模型在训练集上很好、在测试集上很差，这种现象称为*过拟合*（overfitting）。"},
        ),
    )
    write(
        folder / "early-stop.md",
        markdown_doc("早停笔记", {"做法": "验证误差开始上升时停止训练，用来缓解过拟合。"}),
    )
    write(folder / "drift.md", markdown_doc("Drift", {"Alerts": "Compare feature distributions."}))
    ingest_paths(kb, [folder])
    from kb.language.bilingual import glossary as dictionary

    assert "过拟合" not in dictionary().translate("overfitting", "en")  # the dictionary lacks it
    assert "过拟合" in kb.searcher.glossary.translate("overfitting", "en")
    hits = [hit.source for hit in kb.search("overfitting", k=3)]
    assert set(hits[:2]) == {"regularisation.md", "early-stop.md"}
    # and back: a Chinese question gets the English term for the English material
    assert "overfitting" in kb.searcher.glossary.translate("怎样避免过拟合", "zh")


def test_kb_glossary_lists_the_mined_pairs_and_where_they_come_from(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from api.cli import main
    from api.cli.common import CliContext
    from tests.fakes import HashingEmbedder

    home = tmp_path / "home"
    write(
        tmp_path / "c" / "cnn.md",
        markdown_doc("卷积", {"定义": "卷积神经网络（convolutional neural network，CNN）"}),
    )
    context = CliContext(home, embedder=HashingEmbedder())
    run = CliRunner().invoke(
        main, ["--home", str(home), "ingest", str(tmp_path / "c")], obj=context
    )
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(main, ["--home", str(home), "glossary", "--json"], obj=context)
    assert run.exit_code == 0, run.output
    pairs = json.loads(run.stdout)["pairs"]
    assert {(p["chinese"], p["english"]) for p in pairs} == {
        ("卷积神经网络", "convolutional neural network"),
        ("卷积神经网络", "CNN"),
    }
    assert all(p["sources"] == ["cnn.md"] and p["count"] == 1 for p in pairs)
