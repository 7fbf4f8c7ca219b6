"""The Chinese stand-in (kb.search.fusion.Searcher.chinese_stand_in): an English question
about Chinese material, with the English-only default model. Real model, small data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest import ingest_paths
from kb import KnowledgeBase, SentenceTransformerEmbedder, open_knowledge_base
from kb.language.organisers import parse_glossary
from tests.helpers import markdown_doc, write

ENGLISH = {
    "regularisation.md": markdown_doc(
        "Regularisation",
        {
            "Weight decay": "Weight decay adds the squared norm of the weights to the training "
            "loss, so that large weights cost the model and it generalises better.",
            "Dropout": "Dropout zeroes hidden units at random during training, so that no "
            "unit can rely on another one.",
        },
    ),
    "validation.md": markdown_doc(
        "Validation sets",
        {
            "Why": "Keep some data out of training: the validation loss tells how the model "
            "will do on data it has not seen, and when training should stop.",
        },
    ),
}
CHINESE = {
    "overfitting-zh.md": markdown_doc(
        "过拟合",
        {
            "定义": "模型在训练集上误差很小、在测试集上误差很大，这种现象称为过拟合。"
            "过拟合的模型记住了训练样本的噪声。",
            "判断": "比较训练误差和泛化误差：两者差距越来越大，就是过拟合的信号。",
        },
    ),
}
QUERY = "How can I tell that my model is overfitting?"
GLOSSARY = """terms:
  - zh: 过拟合
    en: overfitting
"""


@pytest.fixture(scope="module")
def mixed(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[KnowledgeBase]:
    folder = tmp_path_factory.mktemp("mixed")
    for name, text in {**ENGLISH, **CHINESE}.items():
        write(folder / name, text)
    base = open_knowledge_base(tmp_path_factory.mktemp("home"), embedder=embedder)
    report = ingest_paths(base, [folder])
    assert not report.failed, report.failed
    base.searcher.glossary.set_organisers(parse_glossary(GLOSSARY, "glossary.yaml"))
    yield base
    base.close()


def test_glossary_terms_leave_out_the_dictionary_senses_of_common_words(
    mixed: KnowledgeBase,
) -> None:
    glossary = mixed.searcher.glossary
    assert glossary.terms_in(QUERY, "en") == ["过拟合"]  # the organisers' term
    translated = glossary.translate(QUERY, "en")
    assert "过拟合" in translated
    assert len(translated) > 1  # the dictionary adds words for "tell", "model"...
    # the dictionary's phrases are named terms too, its senses of single words are not
    phrases = glossary.terms_in("why is a time series hard to give", "en")
    assert "时间序列" in phrases and "交给" not in phrases
    assert "交给" in glossary.translate("why is a time series hard to give", "en")


def test_the_chinese_page_an_english_question_names_comes_first_with_the_stand_in(
    mixed: KnowledgeBase,
) -> None:
    searcher = mixed.searcher
    try:
        searcher.chinese_stand_in = False
        before = [hit.source for hit in mixed.search(QUERY, k=3)]
        searcher.chinese_stand_in = True
        after = [hit.source for hit in mixed.search(QUERY, k=3)]
        english = [hit.source for hit in mixed.search("What does dropout do in training?", k=3)]
    finally:
        searcher.chinese_stand_in = False
    # the English-only model puts the English pages first without it ...
    assert before[0] != "overfitting-zh.md"
    # ... and the page BM25 finds for the query's term in Chinese leads with it
    assert after[0] == "overfitting-zh.md"
    # an English question that English material answers keeps its English answer
    assert english[0] == "regularisation.md"


def test_the_stand_in_is_for_an_english_only_model_and_fusion_alone(mixed: KnowledgeBase) -> None:
    searcher = mixed.searcher
    searcher.chinese_stand_in = True
    try:
        assert searcher._stands_in("en", with_dense=False)
        assert not searcher._stands_in("zh", with_dense=False)  # Chinese queries: BM25 answers
        assert not searcher._stands_in("en", with_dense=True)  # a learned model re-ranks
    finally:
        searcher.chinese_stand_in = False
    assert not searcher._stands_in("en", with_dense=False)  # off by default
