"""Chinese and mixed-language material: words cut by jieba in the lexical index and in
queries, marked where they stand in snippets, and stores indexed before that re-indexed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ingest import ingest_paths
from kb import KnowledgeBase, open_knowledge_base
from kb.language.terms import index_text, query_words
from kb.search.snippets import make_snippet
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write

ATTENTION = markdown_doc(
    "注意力机制笔记",
    {
        "加权系数": "注意力汇聚的输出是值的加权平均，加权系数由查询和键的评分函数经过 softmax "
        "得到，所有系数之和为 1。",
        "智能客服": "我们把 RAG 用在智能客服上：先检索知识库，再让 LLM 生成回答。",
    },
    team="nlp",
)
LORA = markdown_doc(
    "LoRA 微调复盘",
    {"rank 的选择": "LoRA 的 rank 取 8 时效果最好，batch size 为 32，学习率 2e-4。"},
)
DRIFT = markdown_doc(
    "Watching for drift", {"Alerts": "Compare the live feature distribution weekly."}
)


def corpus(folder: Path) -> Path:
    write(folder / "attention.md", ATTENTION)
    write(folder / "lora.md", LORA)
    write(folder / "drift.md", DRIFT)
    return folder


def sources(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.source for hit in hits]


def test_chinese_words_are_found_inside_unspaced_text(kb: KnowledgeBase, tmp_path: Path) -> None:
    ingest_paths(kb, [corpus(tmp_path / "c")])
    for query in ("加权系数", "智能客服", "系数", "softmax 评分函数"):
        hits = kb.search(query, mode="lexical")
        assert sources(hits)[:1] == ["attention.md"], query
    assert sources(kb.search("LoRA 的 rank 怎么选", mode="lexical"))[:1] == ["lora.md"]
    assert sources(kb.search("drift", mode="lexical")) == ["drift.md"]


def test_the_section_title_is_where_the_hit_points(kb: KnowledgeBase, tmp_path: Path) -> None:
    ingest_paths(kb, [corpus(tmp_path / "c")])
    hit = kb.search("智能客服", mode="lexical")[0]
    assert "智能客服" in hit.location
    assert "<mark>" in hit.snippet


def test_full_width_letters_and_punctuation_match_their_ascii_forms(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    ingest_paths(kb, [corpus(tmp_path / "c")])
    assert sources(kb.search("ＬｏＲＡ，ｒａｎｋ？", mode="lexical"))[:1] == ["lora.md"]


def test_question_words_are_not_what_a_chinese_query_looks_for() -> None:
    assert query_words("RNN 的梯度为什么会爆炸？") == ["rnn", "梯度", "爆炸"]
    assert query_words("什么") == ["什么"]  # nothing else left: kept


def test_long_words_are_indexed_with_the_words_inside_them() -> None:
    words = index_text("循环神经网络").split()
    assert {"神经网络", "网络", "循环"} <= set(words)
    assert index_text("plain English stays as it is") == "plain English stays as it is"


def test_snippets_mark_chinese_words_where_they_stand() -> None:
    text = "注意力汇聚的输出是值的加权平均，加权系数由评分函数经过 softmax 得到。"
    snippet = make_snippet(text, "加权系数")
    assert "<mark>加权</mark><mark>系数</mark>由" in snippet
    assert snippet.count("<mark>加权</mark>") == 2


def test_a_store_indexed_before_chinese_words_is_reindexed_on_open(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    home = tmp_path / "home"
    base = open_knowledge_base(home, embedder=fake_embedder)
    ingest_paths(base, [corpus(tmp_path / "c")])
    base.close()
    # Put back the lexical index of earlier versions: FTS5 over the raw text, by triggers.
    with sqlite3.connect(home / "kb.sqlite") as db:
        db.executescript(
            """
            DROP TABLE chunks_fts;
            CREATE VIRTUAL TABLE chunks_fts USING fts5(
                heading, body, content='chunks', content_rowid='chunk_id',
                tokenize='porter unicode61');
            INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild');
            CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
                INSERT INTO chunks_fts(rowid, heading, body)
                VALUES (new.chunk_id, new.heading, new.body);
            END;
            DELETE FROM meta WHERE key = 'lexical_format';
            """
        )
    old = sqlite3.connect(home / "kb.sqlite")
    count = "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH '加权'"
    assert old.execute(count).fetchone()[0] == 0  # the old index cannot find the word
    old.close()

    reopened = open_knowledge_base(home, embedder=fake_embedder)
    assert sources(reopened.search("加权系数", mode="lexical"))[:1] == ["attention.md"]
    # Writes after the re-index keep the index and the term counts right.
    write(tmp_path / "c" / "attention.md", ATTENTION.replace("智能客服", "在线答疑"))
    report = ingest_paths(reopened, [tmp_path / "c"])
    assert report.updated == 1
    assert reopened.search("智能客服", mode="lexical") == []
    assert sources(reopened.search("在线答疑", mode="lexical")) == ["attention.md"]
    reopened.delete(reopened.search("在线答疑", mode="lexical")[0].doc_id)
    assert reopened.search("加权系数", mode="lexical") == []
    with sqlite3.connect(home / "kb.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM term_df WHERE df < 0").fetchone()[0] == 0
        triggers = db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'")
        assert triggers.fetchone()[0] == 0
    reopened.close()


def test_long_chinese_text_is_cut_at_sentence_ends_within_the_window() -> None:
    from ingest.chunking import estimate_tokens, split_to_budget

    sentence = "加权系数由查询和键的评分函数经过 softmax 得到，所有系数之和为一。"
    paragraph = sentence * 20  # one paragraph, no spaces between sentences
    assert estimate_tokens(sentence) >= 28  # a token per character, not one per run
    pieces = split_to_budget(paragraph, 100)
    assert len(pieces) > 1
    assert all(piece.endswith("。") for piece in pieces)
    assert all(estimate_tokens(piece) <= 100 for piece in pieces)
    assert "".join(piece.replace(" ", "") for piece in pieces) == paragraph.replace(" ", "")


def test_chinese_speakers_with_full_width_colons_are_recognised() -> None:
    from ingest.formats.transcript import parse_transcript

    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n林佳慧：我们先看随机种子 seed 的设置。\n\n"
        "00:00:06.000 --> 00:00:09.000\n王磊: 那 cuDNN 的 deterministic 呢？\n\n"
        "00:00:10.000 --> 00:00:12.000\n总结一下这次讨论的重点：固定种子\n"
    )
    parsed = parse_transcript(vtt, 200, "vtt")
    assert parsed.chunks[0].location.detail["speakers"] == ["林佳慧", "王磊"]
    assert parsed.chunks[0].body.startswith("林佳慧: 我们先看随机种子")


def test_traditional_and_simplified_chinese_find_each_other_shown_as_written(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = corpus(tmp_path / "c")
    write(
        folder / "overfit.md",
        markdown_doc(
            "過擬合筆記", {"正則化": "卷積神經網絡在小資料集上容易過擬合，權重衰減有幫助。"}
        ),
    )
    ingest_paths(kb, [folder])
    for query in ("过拟合 权重衰减", "過擬合 權重衰減"):
        hits = kb.search(query, mode="lexical")
        assert sources(hits)[:1] == ["overfit.md"], query
        assert "<mark>過擬合</mark>" in hits[0].snippet and "<mark>衰減</mark>" in hits[0].snippet
        assert hits[0].title == "過擬合筆記"  # shown as written
    # and a traditional query finds simplified material
    assert sources(kb.search("加權係數", mode="lexical"))[:1] == ["attention.md"]
