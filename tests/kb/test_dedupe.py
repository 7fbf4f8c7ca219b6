"""Near duplicates (kb.dedupe): which documents are one, and what search does with them.

The signature tests use real text (the sample's documents and the d2l sections' English and
Chinese); the search tests use the hashing stand-in model, as they check mechanics."""

from __future__ import annotations

from pathlib import Path

from kb import KnowledgeBase, SearchFilters
from kb.dedupe import BANDS_KEY, THRESHOLD, band_keys, signature, signature_of, similarity
from kb.types import ChunkInput, DocumentInput, DocumentMeta, Location

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "docs" / "recsys-101" / "05-ranking-metrics-cheat-sheet.md"
OTHER = ROOT / "data" / "sample" / "docs" / "recsys-101" / "06-offline-evaluation-and-ab-tests.md"
ORIGIN = (
    ROOT / "bench" / "data" / "d2l-zh-origin" / "chapter_convolutional-modern" / "nin_origin.md"
)
CHINESE = ROOT / "tests" / "fixtures" / "real" / "d2l-zh-nin.md"  # a copy: see real-licenses


def _sim(a: str, b: str) -> float:
    sa, sb = signature(a), signature(b)
    assert sa is not None and sb is not None
    return similarity(sa, sb)


def test_an_exact_copy_is_identical_and_an_edited_copy_is_still_a_duplicate() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    paragraphs = text.split("\n\n")
    paragraphs[3] = "This paragraph was rewritten entirely by the person who re-posted it."
    edited = "\n\n".join(paragraphs).replace("# Cheat sheet", "# Cheatsheet (v2)")
    edited = edited.replace("ordered", "orderd").replace("averaged", "averagd")
    assert _sim(text, text) == 1.0
    assert _sim(text, edited) >= THRESHOLD


def test_a_different_document_on_the_same_topic_is_not_a_duplicate() -> None:
    assert _sim(SAMPLE.read_text(encoding="utf-8"), OTHER.read_text(encoding="utf-8")) < THRESHOLD


def test_a_translation_is_not_a_duplicate_even_with_its_code_in_common() -> None:
    # d2l-zh's nin.md and the English it was translated from share their code blocks
    english, chinese = ORIGIN.read_text(encoding="utf-8"), CHINESE.read_text(encoding="utf-8")
    assert _sim(english, chinese) < THRESHOLD


def test_chinese_is_compared_by_characters_and_folded_like_search() -> None:
    chinese = CHINESE.read_text(encoding="utf-8")
    assert _sim(chinese, chinese.replace("网络", "網絡")) == 1.0  # traditional = simplified


def test_a_text_too_short_has_no_signature() -> None:
    assert signature("LoRA rank") is None


def _doc(
    origin: str, body: str, visibility: tuple[str, ...] = (), title: str = ""
) -> DocumentInput:
    chunks = tuple(
        ChunkInput(f"{title or origin} > part {i}", part, Location(f"part {i}", f"part-{i}"))
        for i, part in enumerate(body.split("\n\n"))
    )
    return DocumentInput(
        origin=origin,
        source=origin,
        type="markdown",
        content_hash=str(hash(body)),
        meta=DocumentMeta(title=title or origin, visibility=visibility),
        chunks=chunks,
    )


RANKING = SAMPLE.read_text(encoding="utf-8").split("---\n", 2)[2]
EVALUATION = OTHER.read_text(encoding="utf-8").split("---\n", 2)[2]


def test_a_copy_is_linked_to_the_earliest_and_search_shows_the_group_once(
    kb: KnowledgeBase,
) -> None:
    first, copy, other = kb.write_documents(
        [_doc("a.md", RANKING), _doc("wiki/b.md", RANKING), _doc("c.md", EVALUATION)]
    )
    groups = kb.duplicate_groups()
    assert [(g.canonical.doc_id, [m.doc_id for m in g.members]) for g in groups] == [
        (first.doc_id, [copy.doc_id])
    ]
    hits = kb.search("NDCG ranking metrics cheat sheet", k=10, mode="lexical")
    ids = [hit.doc_id for hit in hits]
    assert len({first.doc_id, copy.doc_id} & set(ids)) == 1  # one of the two, not both
    shown = next(hit for hit in hits if hit.doc_id in (first.doc_id, copy.doc_id))
    other_one = copy.doc_id if shown.doc_id == first.doc_id else first.doc_id
    assert [a.doc_id for a in shown.also_in] == [other_one]
    assert shown.also_in[0].source in ("a.md", "wiki/b.md")
    assert all(hit.also_in == () for hit in hits if hit.doc_id == other.doc_id)


def test_a_restricted_copy_is_never_revealed(kb: KnowledgeBase) -> None:
    kb.write_documents(
        [_doc("open.md", RANKING), _doc("secret.md", RANKING, visibility=("mlops",))]
    )
    outsider = SearchFilters(viewer_teams=("nlp",))
    hits = kb.search("NDCG ranking metrics", k=10, filters=outsider, mode="lexical")
    assert [h.source for h in hits if h.source in ("open.md", "secret.md")] == ["open.md"]
    assert all(a.source != "secret.md" for h in hits for a in h.also_in)
    assert kb.duplicate_groups(("nlp",)) == []
    insider = SearchFilters(viewer_teams=("mlops",))
    hits = kb.search("NDCG ranking metrics", k=10, filters=insider, mode="lexical")
    shown = [h for h in hits if h.source in ("open.md", "secret.md")]
    assert len(shown) == 1 and [a.source for a in shown[0].also_in] != []


def test_deleting_the_canonical_makes_the_next_copy_canonical(kb: KnowledgeBase) -> None:
    first, second, third = kb.write_documents(
        [_doc("1.md", RANKING), _doc("2.md", RANKING), _doc("3.md", RANKING)]
    )
    kb.delete(first.doc_id)
    (group,) = kb.duplicate_groups()
    assert group.canonical.doc_id == second.doc_id
    assert [m.doc_id for m in group.members] == [third.doc_id]


def test_a_rewritten_canonical_keeps_only_the_copies_still_like_it(kb: KnowledgeBase) -> None:
    first, copy = kb.write_documents([_doc("1.md", RANKING), _doc("2.md", RANKING)])
    kb.write_documents([_doc("1.md", EVALUATION)])  # the same file, now another text
    assert kb.duplicate_groups() == []
    kb.write_documents([_doc("4.md", RANKING)])
    (group,) = kb.duplicate_groups()
    assert group.canonical.doc_id == copy.doc_id


def test_kb_dedupe_relinks_the_whole_store(kb: KnowledgeBase) -> None:
    first, copy, _ = kb.write_documents(
        [_doc("a.md", RANKING), _doc("b.md", RANKING), _doc("c.md", EVALUATION)]
    )
    kb.store.set_canonicals([(copy.doc_id, None, None)])  # as a store copied by kb migrate
    assert kb.duplicate_groups() == []
    report = kb.dedupe()
    assert (report.documents, report.groups, report.copies) == (3, 1, 1)
    (group,) = kb.duplicate_groups()
    assert (group.canonical.doc_id, group.members[0].doc_id) == (first.doc_id, copy.doc_id)


def test_a_new_document_is_compared_only_with_those_sharing_a_band(kb: KnowledgeBase) -> None:
    first, other = kb.write_documents([_doc("a.md", RANKING), _doc("c.md", EVALUATION)])
    sig = signature_of(_doc("b.md", RANKING))
    assert sig is not None
    candidates = [doc_id for doc_id, _, _ in kb.store.signature_candidates(band_keys(sig))]
    assert candidates == [first.doc_id]  # the other document on the same topic is not read
    (copy,) = kb.write_documents([_doc("b.md", RANKING)])
    (group,) = kb.duplicate_groups()
    assert (group.canonical.doc_id, [m.doc_id for m in group.members]) == (
        first.doc_id,
        [copy.doc_id],
    )


def test_a_store_signed_before_the_band_table_still_finds_copies_of_its_documents(
    kb: KnowledgeBase,
) -> None:
    (first,) = kb.write_documents([_doc("a.md", RANKING)])
    kb.store.put_bands([(first.doc_id, [])])  # as a store signed by the previous version
    kb.store.set_meta(BANDS_KEY, None)
    (copy,) = kb.write_documents([_doc("b.md", RANKING)])
    (group,) = kb.duplicate_groups()
    assert (group.canonical.doc_id, [m.doc_id for m in group.members]) == (
        first.doc_id,
        [copy.doc_id],
    )
