"""Sessions on every backend: a training event's transcript, deck, chat log and write-up are
stored with one session id, a search collapses them into one result listing its parts (paged
by results, never showing a part the caller may not see), and a transcript hit names the slide
on screen while a slide hit names the moment that discusses it (docs/sessions.md)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest import ingest_paths
from kb import KnowledgeBase, SearchFilters
from kb.search.evaluation import ALL, LabelledQuery, compare_by_language, ranked_sources
from tests.conftest import SAMPLE
from tests.contracts import BACKENDS, fresh_backend
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write

SESSION = "2026-04-14-labelling-guidelines"
STEM = f"sessions/{SESSION}"
SECRET = "sessions/hr-only-annotator-scores.md"


def session_folder(folder: Path) -> Path:
    """The sample's session, one part of it restricted to the hr team, and a document of the
    same course outside the session."""
    shutil.copytree(SAMPLE / "sessions", folder / "sessions")
    write(
        folder / SECRET,
        markdown_doc(
            "Annotator scores on the gold questions",
            {"Scores": "Each annotator's kappa and gold question accuracy, by name."},
            session=SESSION,
            visibility="[hr]",
        ),
    )
    write(
        folder / "docs" / "kappa-cheat-sheet.md",
        markdown_doc(
            "Kappa cheat sheet",
            {"Kappa": "Cohen's kappa compares annotators' agreement with chance agreement."},
            course="nlp-sentiment",
            module="nlp-preprocessing",
        ),
    )
    return folder


@pytest.fixture(scope="module", params=BACKENDS)
def session_kb(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_embedder: HashingEmbedder,
) -> Iterator[KnowledgeBase]:
    folder = tmp_path_factory.mktemp("sessions")
    backend = fresh_backend(request.param, folder / "home", request)
    base = backend.open_knowledge_base(embedder=fake_embedder)
    report = ingest_paths(base, [session_folder(folder / "corpus")])
    assert report.failed == [], report.failed
    base.embed_pending()
    yield base
    base.close()


def test_each_part_is_stored_with_its_session(session_kb: KnowledgeBase) -> None:
    sessions = {d.source: d.session for d in session_kb.list_documents()}
    assert sessions == {
        f"{STEM}.pptx": SESSION,  # the dated stem
        f"{STEM}.txt": SESSION,
        f"{STEM}.vtt": SESSION,
        "sessions/labelling-guidelines-what-changed.md": SESSION,  # declared
        SECRET: SESSION,
        "docs/kappa-cheat-sheet.md": None,  # no date: in no session
    }
    in_session = session_kb.list_documents(SearchFilters(session=SESSION))
    assert len(in_session) == 5


def test_a_session_is_one_result_listing_its_parts(session_kb: KnowledgeBase) -> None:
    query = "kappa agreement between annotators"
    apart = session_kb.search(query, k=10, collapse_sessions=False)
    assert sum(h.session == SESSION for h in apart) >= 3
    assert all(h.parts == () for h in apart)
    grouped = session_kb.search(query, k=10)
    leads = [h for h in grouped if h.session == SESSION]
    assert len(leads) == 1
    lead = leads[0]
    assert lead.doc_id == next(h.doc_id for h in apart if h.session == SESSION)  # best leads
    parts = {p.source: p for p in lead.parts}
    assert lead.source not in parts and SECRET in parts  # a trusted caller sees every part
    matched = [p for p in lead.parts if p.matched]
    assert matched and all(p.location and p.anchor for p in matched)
    assert {p.source for p in matched} == {h.source for h in apart if h.session == SESSION} - {
        lead.source
    }
    assert "docs/kappa-cheat-sheet.md" in {h.source for h in grouped}


def test_evaluation_counts_a_sessions_matched_parts_as_found(session_kb: KnowledgeBase) -> None:
    """`kb eval` scores what the result list shows: a relevant part listed under its session's
    result counts as found, right after that result (kb.search.evaluation.ranked_sources)."""
    query = "kappa agreement between annotators"
    grouped = session_kb.search(query, k=10)
    lead = next(h for h in grouped if h.session == SESSION)
    part = next(p.source for p in lead.parts if p.matched)
    ranked = ranked_sources(grouped)
    assert ranked.index(part) == ranked.index(lead.source) + 1 + [
        p.source for p in lead.parts if p.matched
    ].index(part)
    found = compare_by_language(session_kb.search, [LabelledQuery(query, frozenset({part}))])
    assert found[ALL]["hybrid"]["recall@10"] == 1.0


def test_paging_counts_results_and_never_repeats_a_session(session_kb: KnowledgeBase) -> None:
    query = "annotators label reviews"
    whole = session_kb.search(query, k=10)
    pages = [h for at in range(len(whole)) for h in session_kb.search(query, k=1, offset=at)]
    assert [h.doc_id for h in pages] == [h.doc_id for h in whole]
    assert sum(h.session == SESSION for h in pages) == 1


def test_a_part_the_caller_may_not_see_is_not_listed(session_kb: KnowledgeBase) -> None:
    query = "annotator kappa gold questions"
    for teams, sees_secret in ((("nlp",), False), (("hr",), True), (None, True)):
        hits = session_kb.search(query, k=10, filters=SearchFilters(viewer_teams=teams))
        lead = next(h for h in hits if h.session == SESSION)
        listed = {lead.source} | {p.source for p in lead.parts}
        assert (SECRET in listed) is sees_secret, teams
        assert len(listed) == (5 if sees_secret else 4)


def test_filters_apply_to_parts_but_not_to_the_slide(session_kb: KnowledgeBase) -> None:
    hits = session_kb.search(
        "gold questions annotator quality", k=5, filters=SearchFilters(type="transcript")
    )
    transcript = next(h for h in hits if h.session == SESSION)
    assert transcript.parts == ()  # the other parts are not transcripts
    assert transcript.slide is not None and transcript.slide.source == f"{STEM}.pptx"


def test_transcript_moment_names_its_slide_and_a_slide_its_moment(
    session_kb: KnowledgeBase,
) -> None:
    moment = session_kb.search(
        "gold questions annotator", k=3, filters=SearchFilters(type="transcript")
    )[0]
    assert moment.slide is not None and moment.moment is None
    assert moment.slide.anchor == "slide-9" and moment.slide.location.startswith("slide 9")
    slide = session_kb.search("gold questions", k=3, filters=SearchFilters(type="slides"))[0]
    assert slide.anchor == "slide-9"
    assert slide.moment is not None and slide.slide is None
    assert slide.moment.anchor == "t=542" and slide.moment.source == f"{STEM}.vtt"
    chat = session_kb.search("emoji table appendix", k=3, filters=SearchFilters(type="chat"))[0]
    assert chat.slide is None and chat.moment is None  # a chat log has neither


def test_an_answer_reads_a_sessions_parts_but_never_one_the_caller_may_not_see(
    session_kb: KnowledgeBase,
) -> None:
    """Quoted answers read the parts folded into a session's hit (docs/answers.md): the hr-only
    part answers the hr team, and nobody else ever sees a word of it."""
    question = "what is each annotator's gold question accuracy, by name?"
    hr = SearchFilters(viewer_teams=("hr",))
    quoted = session_kb.answer(question, session_kb.search(question, filters=hr))
    assert quoted is not None and quoted.source == SECRET
    for teams in (("nlp",), ()):
        viewer = SearchFilters(viewer_teams=teams)
        hits = session_kb.search(question, filters=viewer)
        assert all(part.source != SECRET for hit in hits for part in hit.parts)
        quoted = session_kb.answer(question, hits)
        assert quoted is None or quoted.source != SECRET, teams
        assert quoted is None or "by name" not in quoted.text, teams
