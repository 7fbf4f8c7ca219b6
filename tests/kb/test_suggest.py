"""Suggestions as you type and "did you mean": prefixes, word starts, pinyin, ranking, dedupe,
visibility, corrections, and the background rebuild, over the sample catalogue and material."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest import ingest_paths
from kb import KnowledgeBase
from kb.search.suggest import (
    Entry,
    Suggester,
    SuggestIndex,
    normalise,
    store_entries,
    successful_queries,
)
from kb.searchlog.base import OpenEvent, SearchEvent
from recommender.catalog.loading import load_catalog_dir
from tests.helpers import markdown_doc, write

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "data" / "sample" / "catalog"


@pytest.fixture(scope="module")
def catalog_suggester() -> Suggester:
    """The sample catalogue's skills, courses and modules, and a few Chinese terms."""
    catalog, _ = load_catalog_dir(CATALOG)
    entries = [Entry(s.name, "skill") for s in catalog.skills.values()]
    entries += [Entry(c.title, "course") for c in catalog.courses.values()]
    entries += [Entry(m.title, "module") for m in catalog.modules.values()]
    entries += [
        Entry("过拟合", "term", 6),
        Entry("overfitting", "term", 6),
        Entry("卷積神經網絡", "term", 2),  # traditional, as a Taiwanese write-up has it
        Entry("LoRA微调", "title"),
        Entry("数据清洗", "term", 3),
    ]
    return Suggester(entries)


def texts(found: list) -> list[str]:
    return [s.text for s in found]


def test_a_prefix_finds_entries_by_their_start_whatever_the_case_or_width(
    catalog_suggester: Suggester,
) -> None:
    for typed in ("hyperpa", "HYPERPA", "ｈｙｐｅｒｐａ"):
        found = catalog_suggester.suggest(typed)
        assert found[0].text == "Hyperparameter tuning"
        assert found[0].kind == "skill" and found[0].matched == "prefix"


def test_a_prefix_finds_each_words_start_too(catalog_suggester: Suggester) -> None:
    found = catalog_suggester.suggest("tun")
    assert "Hyperparameter tuning" in texts(found)
    assert all(s.matched == "word" for s in found if s.text == "Hyperparameter tuning")
    # "fine-tuning": the hyphen is a word break, and typed as a space or a hyphen alike
    assert any("fine-tuning" in t.lower() for t in texts(catalog_suggester.suggest("tuning")))
    assert texts(catalog_suggester.suggest("llm fine t")) == texts(
        catalog_suggester.suggest("LLM fine-t")
    )


def test_chinese_is_found_by_its_pinyin_its_initials_and_its_traditional_form(
    catalog_suggester: Suggester,
) -> None:
    assert catalog_suggester.suggest("guoni")[0].text == "过拟合"
    assert catalog_suggester.suggest("guoni")[0].matched == "pinyin"
    assert catalog_suggester.suggest("gnh")[0].text == "过拟合"
    assert catalog_suggester.suggest("gnh")[0].matched == "initials"
    assert "卷積神經網絡" in texts(catalog_suggester.suggest("卷积"))  # simplified finds it
    assert "卷積神經網絡" in texts(catalog_suggester.suggest("shenjing"))  # a later word
    # a polyphonic character is found by its other reading too: 调 is diao and tiao
    assert "LoRA微调" in texts(catalog_suggester.suggest("weitiao"))
    assert "LoRA微调" in texts(catalog_suggester.suggest("lora"))
    assert catalog_suggester.suggest("sjqx")[0].text == "数据清洗"


def test_ranking_is_by_kind_then_frequency_and_equal_texts_are_suggested_once() -> None:
    suggester = Suggester(
        [
            Entry("Overfitting", "title"),
            Entry("overfitting", "term", 6),  # the same text folded: one suggestion
            Entry("Overfitting in practice", "query", 1),
            Entry("Overfitting in practice", "query", 9),
            Entry("Over-sampling the minority class", "title"),
        ]
    )
    found = suggester.suggest("over", limit=8)
    assert texts(found) == [
        "overfitting",  # a term seen six times, over the title of the same text
        "Overfitting in practice",  # searched nine times (its once-searched twin is merged)
        "Over-sampling the minority class",
    ]
    assert len(suggester.suggest("over", limit=1)) == 1


def test_restricted_entries_are_only_suggested_to_their_teams() -> None:
    suggester = Suggester(
        [
            Entry("Tuning playbook (recsys)", "title", visibility=("recsys",)),
            Entry("Tuning", "skill"),
        ]
    )
    assert texts(suggester.suggest("tun", teams=("nlp",))) == ["Tuning"]
    assert "Tuning playbook (recsys)" in texts(suggester.suggest("tun", teams=("recsys",)))
    assert len(suggester.suggest("tun", teams=None)) == 2  # a trusted caller sees all


def test_nothing_is_suggested_for_an_empty_prefix_or_one_that_starts_nothing(
    catalog_suggester: Suggester,
) -> None:
    assert catalog_suggester.suggest("") == []
    assert catalog_suggester.suggest("   ") == []
    assert catalog_suggester.suggest("zzqx") == []
    assert Suggester([]).suggest("a") == []


def test_a_trailing_space_asks_for_another_word() -> None:
    assert normalise("fine ") == "fine "
    suggester = Suggester([Entry("fine-tuning", "term"), Entry("finetune", "term")])
    assert texts(suggester.suggest("fine ")) == ["fine-tuning"]


def test_did_you_mean_corrects_misspelt_words_from_the_stores_vocabulary(
    catalog_suggester: Suggester,
) -> None:
    assert catalog_suggester.did_you_mean("hyperparamter tunning") == "hyperparameter tuning"
    assert catalog_suggester.did_you_mean("overfiting") == "overfitting"
    assert catalog_suggester.did_you_mean("guonihe") == "过拟合"  # pinyin typed for a term
    assert catalog_suggester.did_you_mean("guo ni he") == "过拟合"
    assert catalog_suggester.did_you_mean("guonih") == "过拟合"  # one letter short
    # nothing close, words already known, Chinese, or empty: no suggestion
    assert catalog_suggester.did_you_mean("qzxwv plokm") is None
    assert catalog_suggester.did_you_mean("hyperparameter tuning") is None
    assert catalog_suggester.did_you_mean("过拟") is None
    assert catalog_suggester.did_you_mean("") is None


def test_did_you_mean_never_offers_a_restricted_word() -> None:
    suggester = Suggester(
        [Entry("zanzibar playbook", "title", visibility=("recsys",)), Entry("playbook", "term")]
    )
    assert suggester.did_you_mean("zanzibr") is None
    assert suggester.did_you_mean("playbok") == "playbook"


def test_the_stores_titles_terms_and_headings_are_its_entries(
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
        folder / "secret.md",
        markdown_doc(
            "Recsys private notes",
            {"Quokka tricks": "称为*暂退法*（dropout）。"},
            visibility=["recsys"],
        ),
    )
    write(folder / "drift.md", markdown_doc("Drift alerts", {"Thresholds": "Compare features."}))
    ingest_paths(kb, [folder])
    found = store_entries(kb.store, kb.searcher.glossary)
    by_text = {e.text: e for e in found.entries}
    assert by_text["正则化"].kind == "title" and by_text["正则化"].visibility == ()
    assert by_text["Recsys private notes"].visibility == ("recsys",)
    assert by_text["过拟合"].kind == "term" and by_text["过拟合"].visibility == ()
    assert by_text["暂退法"].visibility == ("recsys",)  # found only in a restricted document
    assert "Thresholds" in found.vocabulary and "Quokka tricks" not in found.vocabulary
    suggester = Suggester(found.entries, found.vocabulary)
    assert texts(suggester.suggest("zantui", teams=("nlp",))) == []
    assert texts(suggester.suggest("zantui", teams=("recsys",))) == ["暂退法"]
    assert suggester.did_you_mean("drift tresholds") == "drift thresholds"  # from a heading


def _search(query: str, n: int, hits: tuple[str, ...], best: float, sid: str) -> SearchEvent:
    at = datetime.now(UTC)
    return SearchEvent(sid, at, query, "hybrid", n_hits=n, best_score=best, hits=hits)


def test_past_queries_are_suggested_once_they_succeeded_twice_as_visible_as_their_first_hit() -> (
    None
):
    searches = [
        _search("LoRA rank choice", 3, ("d1",), 0.05, "a1"),
        _search("lora  rank choice", 3, ("d1",), 0.05, "a2"),  # the same query, folded
        _search("one person's query", 3, ("d1",), 0.05, "b1"),  # once only: stays theirs
        _search("weak and unopened", 3, ("d1",), 0.001, "c1"),
        _search("weak and unopened", 3, ("d1",), 0.001, "c2"),
        _search("weak but opened", 3, ("d1",), 0.001, "e1"),
        _search("weak but opened", 3, ("d1",), 0.001, "e2"),
        _search("secret recsys thing", 3, ("d2",), 0.05, "f1"),
        _search("secret recsys thing", 3, ("d2",), 0.05, "f2"),
    ]
    opens = [OpenEvent(datetime.now(UTC), "d1", sid) for sid in ("e1", "e2")]
    entries = successful_queries(searches, opens, {"d1": (), "d2": ("recsys",)})
    by_text = {e.text: e for e in entries}
    assert set(by_text) == {"LoRA rank choice", "weak but opened", "secret recsys thing"}
    assert by_text["LoRA rank choice"].weight == 2 and by_text["LoRA rank choice"].kind == "query"
    assert by_text["secret recsys thing"].visibility == ("recsys",)


def test_the_index_answers_at_once_and_rebuilds_in_the_background_when_the_store_changes() -> None:
    version = [1]
    release = threading.Event()
    built: list[int] = []

    def build() -> Suggester:
        release.wait(10)
        built.append(version[0])
        return Suggester([Entry(f"version {version[0]}", "title")])

    index = SuggestIndex(build, lambda: version[0], min_rebuild_s=0.0)
    index.start()
    started = time.perf_counter()
    assert index.current().suggest("version") == []  # the first build is still running
    assert time.perf_counter() - started < 0.5  # and nobody waited for it
    release.set()
    assert index.wait()
    assert texts(index.current().suggest("version")) == ["version 1"]
    version[0] = 2
    index.current()  # sees the new version: a rebuild starts behind the answer
    assert index.wait()
    assert texts(index.current().suggest("version")) == ["version 2"]
    assert built == [1, 2]


def test_a_failing_build_keeps_the_previous_suggestions(caplog: pytest.LogCaptureFixture) -> None:
    calls = [0]

    def build() -> Suggester:
        calls[0] += 1
        if calls[0] > 1:
            raise RuntimeError("the store went away")
        return Suggester([Entry("kept", "title")])

    index = SuggestIndex(build, lambda: calls[0], min_rebuild_s=0.0)
    index.start().wait()
    index.invalidate()
    index.wait()
    assert texts(index.current().suggest("ke")) == ["kept"]
    assert "could not be rebuilt" in caplog.text
