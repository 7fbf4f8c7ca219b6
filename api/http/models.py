"""Pydantic models of the HTTP edge only: request bodies, errors, envelopes, and the
recommender's reports that still nest modules with their own keys.

Hits, documents, chunks, gaps and materials are the domain's dataclasses (kb.types,
recommender): FastAPI serialises their fields as the CLI's `--json` does, so a field added to
one shows up in both, and in /docs, by itself. Response models here allow extra keys, so that
a key added to a remaining `to_dict` reaches clients without breaking the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.auth import Role
from ingest.jobs.base import JobState
from kb.search.suggest import Kind, Matched
from kb.searchlog.base import SEARCH_ID_PATTERN
from kb.types import DocType, Document, Hit, SearchMode
from recommender import (
    Bottleneck,
    Bridge,
    CycleSummary,
    ImportReport,
    MaterialItem,
    MyCycle,
    NextStatus,
    NodeKind,
    PlanMethod,
    SkillGap,
    TeamSkillGap,
)

# Bounds of query parameters, in the schema so that clients (and schemathesis) see them.
K_MAX = 100
OFFSET_MAX = 1000
HOURS_MAX = 500.0
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- errors -----------------------------------------------------------------------------------
class ErrorDetail(_Out):
    status: int = Field(description="the HTTP status, repeated for logs and proxies")
    code: str = Field(description="a stable word: unauthorized, forbidden, not_found, invalid...")
    message: str = Field(description="a sentence saying what went wrong and what to do")


class ErrorResponse(BaseModel):
    """Every error answer has this shape (validation errors add `fields`, a faulty catalogue
    adds `faults`, an upload refused for one file adds `file`)."""

    error: ErrorDetail


# -- health -----------------------------------------------------------------------------------
class JobCounts(BaseModel):
    queued: int
    running: int


class Health(BaseModel):
    status: Literal["ok"]
    documents: int
    chunks: int
    model: str
    dim: int
    backend: Literal["sqlite", "postgresql"]  # where the knowledge base keeps its data
    pending_embeddings: int = 0  # chunks searchable by their words, vectors still to come
    pending_documents: int = 0
    catalog_loaded: bool
    jobs: JobCounts
    auth: Literal["api-keys", "disabled"]


class Meta(BaseModel):
    """The lists the pages (and other clients) offer: document types and search modes."""

    doc_types: list[DocType]
    modes: list[SearchMode]


class Me(BaseModel):
    """Who the key belongs to, so that a page can sign in with the key alone."""

    role: Role
    employee: str | None
    team: str | None


# -- search and documents ---------------------------------------------------------------------
# Hits and documents are kb's own dataclasses (kb.types): the envelopes below only wrap them.
class AnswerOut(BaseModel):
    """A quoted answer: `text` is exactly `chunk text[start:end]` of a stored chunk (no word
    of it written by the service), with the document and the place that opens it."""

    text: str
    doc_id: str
    chunk_id: int
    start: int = Field(description="character offset of the quote in the chunk's text")
    end: int
    score: float = Field(
        description="how well it answers (given at or above kb.search.answers.THRESHOLD, "
        "E5_THRESHOLD with the e5 scorer)"
    )
    source: str
    title: str
    location: str
    anchor: str


class SearchResponse(BaseModel):
    query: str
    k: int
    offset: int
    hits: list[Hit]
    pending_embeddings: int = Field(
        0,
        description="chunks stored for their words whose vectors are still being made: "
        "they are found by their words (BM25) only until then",
    )
    pending_documents: int = Field(0, description="the documents those chunks belong to")
    did_you_mean: str | None = Field(
        None,
        description="on a first page that found nothing good (no hit, or a best hit under the "
        "calibrated threshold of kb.search.quality): the query as it was probably meant "
        "(misspelt English words corrected from the store's own words, pinyin read as the "
        "Chinese term it spells); null otherwise",
    )
    answer: AnswerOut | None = Field(
        None,
        description="for a question (first page only): the one to three sentences of the top "
        "hits that best answer it, quoted exactly; null when nothing answers it well enough",
    )


# Suggestions as you type (GET /suggest): kb.search.suggest.Suggestion at the edge.
SUGGEST_Q_MAX = 200
SUGGEST_LIMIT_MAX = 20


class SuggestionOut(BaseModel):
    text: str = Field(description="the completion, as written where it was found")
    kind: Kind = Field(description="term, skill, course, module, title or query (searched before)")
    matched: Matched = Field(
        description="how the typed text met it: prefix (its start), word (a later word's start), "
        "pinyin or initials (a Chinese entry's pinyin without tones, or its initials)"
    )


class SuggestResponse(BaseModel):
    query: str
    suggestions: list[SuggestionOut]


class DocumentList(BaseModel):
    total: int
    offset: int
    documents: list[Document]


class Deleted(BaseModel):
    deleted: Document


# -- ingest jobs ------------------------------------------------------------------------------
class JobAccepted(_Out):
    job_id: str
    state: Literal["queued"]
    status_url: str
    files: list[str] = Field(description="the uploaded files, as named by the uploader")
    expected_documents: int = Field(description="documents found in the files and archives")


class UploadOut(_Out):
    name: str
    size: int


class Progress(_Out):
    done: int = Field(description="files (archive entries count one each) processed so far")
    total: int | None = Field(description="files to process; null until the job starts")
    current: str | None


class FileResult(_Out):
    source: str
    status: Literal["added", "updated", "unchanged", "failed"]
    doc_id: str | None = None
    error: str | None = None


class JobOut(_Out):
    id: str
    state: JobState
    created_at: str
    started_at: str | None
    finished_at: str | None
    submitted_by: str
    team: str | None
    course: str | None
    visibility: list[str]
    uploads: list[UploadOut]
    progress: Progress
    files: list[FileResult] = Field(description="one per file once the job is done")
    summary: dict[str, Any] | None
    error: str | None


# -- recommender ------------------------------------------------------------------------------
class ModuleOut(_Out):
    id: str
    title: str
    course: str | None = None
    team: str | None = None
    format: str | None = None
    hours: float | None = None
    skills: dict[str, int] | None = None
    prerequisites: list[str] | None = None
    materials: list[str] | None = None
    reason: str | None = None


class NextModuleOut(_Out):
    employee: str
    status: NextStatus
    module: ModuleOut | None
    reason: str
    alternatives: list[ModuleOut]
    blocked: list[dict[str, Any]]


class ColleagueOut(_Out):
    employee: str
    name: str
    team: str
    reason: str


class RecommendationOut(_Out):
    employee: str
    name: str
    team: str
    signals: str
    gaps: list[SkillGap]
    modules: list[ModuleOut]
    materials: list[MaterialItem]
    colleagues: list[ColleagueOut]
    notes: list[str]


class PlanOut(_Out):
    employee: str
    hours_budget: float
    method: PlanMethod
    total_hours: float
    gap_closed: float
    gap_before: float
    gap_after: float
    modules: list[ModuleOut]
    reason: str


class TeamReportOut(_Out):
    team: str
    name: str
    members: list[str]
    total_weighted_gap: float
    skills: list[TeamSkillGap]
    modules: list[ModuleOut] = Field(description="suggested trainings, most gap closed first")


class CompletionIn(BaseModel):
    """The employee completed a catalogue module; the score (0..1) scales the level reached."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    kind: Literal["completion"]
    module: str = Field(min_length=1, max_length=200)
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class RatingIn(BaseModel):
    """The employee rated a document of the knowledge base, 1 (useless) to 5 (excellent)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["rating"]
    doc_id: str = Field(min_length=1, max_length=200)
    rating: int = Field(ge=1, le=5)


EventIn = Annotated[CompletionIn | RatingIn, Field(discriminator="kind")]


class EventOut(_Out):
    employee: str
    event: dict[str, Any]


class CatalogGlossaryOut(_Out):
    """What the load did to the organisers' glossary (kb.search.glossary.CatalogGlossary)."""

    action: Literal["loaded", "removed", "kept", "none"] = Field(
        description="loaded: the upload's glossary.yaml replaced the stored glossary; removed: "
        "the glossary an earlier catalogue brought is gone (this one has none); kept: one "
        "loaded by `kb glossary load` stays; none: there is none"
    )
    source: str | None = None
    loaded_from: str | None = None
    terms: int | None = None
    blocked: int | None = None


class CatalogLoaded(_Out):
    loaded: Literal[True]
    counts: dict[str, int]
    events_applied: int
    events_skipped: int
    glossary: CatalogGlossaryOut | None = None


class LoggedSearchResponse(SearchResponse):
    search_id: str | None = Field(
        default=None,
        description="this search in the search log: pass it as `from_search` when opening a "
        "hit; null when searches are not recorded",
    )


class OpenIn(BaseModel):
    search_id: str = Field(pattern=SEARCH_ID_PATTERN, description="from the search's answer")
    doc_id: str = Field(min_length=1, max_length=200, description="the hit followed")


VOTE_VALUES = {"up": 1, "down": -1, "none": 0, 1: 1, -1: -1, 0: 0}


class FeedbackIn(BaseModel):
    """A reader's thumb on a hit (`POST /feedback`); a second vote replaces the first."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=1000, description="the query, as typed")
    doc_id: str = Field(min_length=1, max_length=200, description="the hit voted on")
    vote: Literal["up", "down", "none", 1, -1, 0] = Field(
        description='"up" (or 1), "down" (or -1), "none" (or 0: the earlier vote withdrawn)'
    )
    search_id: str | None = Field(
        default=None, pattern=SEARCH_ID_PATTERN, description="from the search's answer"
    )

    @property
    def value(self) -> int:
        return VOTE_VALUES[self.vote]


class FeedbackRecorded(BaseModel):
    recorded: bool = Field(description="false only when searches are not recorded here")


class FeedbackRow(BaseModel):
    query: str = Field(description="as most recently typed (votes counted per normalised query)")
    doc_id: str
    title: str | None = Field(description="null: the document is no longer stored")
    up: int = Field(description="distinct readers whose latest vote is up")
    down: int = Field(description="distinct readers whose latest vote is down")
    last_vote: dt.datetime


class FeedbackList(BaseModel):
    since: dt.datetime
    total: int = Field(description="(query, document) pairs voted on, before `limit`")
    hidden: int = Field(description="pairs left out: documents restricted to other teams")
    items: list[FeedbackRow]


class GlossaryPairOut(BaseModel):
    """One term pair search uses across languages (as `kb glossary --json`)."""

    chinese: str
    english: str
    count: int = Field(description="how often the material names this pair")
    sources: list[str] = Field(description="where it was found (the organisers' file for theirs)")
    source: Literal["organisers", "mined"]
    used: bool = Field(description="False for a mined pair the organisers block or redefine")
    because: str | None = None


class GlossarySummaryOut(BaseModel):
    source: str
    loaded_from: str
    terms: int
    blocked: int


class GlossaryBlockedOut(BaseModel):
    chinese: str
    english: str


class GlossaryOut(BaseModel):
    """`GET /glossary`: the organisers' pairs first, then the mined ones, and the blocked."""

    pairs: list[GlossaryPairOut]
    organisers: GlossarySummaryOut | None
    blocked: list[GlossaryBlockedOut]


class CycleIn(BaseModel):
    """A cycle, with the fields of a `cycles.yaml` entry; ids must be the catalogue's."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    id: str = Field(pattern=ID_PATTERN, max_length=200)
    title: str = Field(min_length=1, max_length=300)
    modules: IdList = Field(min_length=1, description="catalogue module ids")
    start: dt.date
    end: dt.date
    trainers: IdList = Field(min_length=1, description="employee ids")
    participants: IdList = Field(min_length=1, description="employee ids")
    teams: IdList | None = Field(default=None, description="default: the participants' teams")
    hours: float | None = Field(
        default=None, gt=0, le=10_000, description="per participant; default: the modules'"
    )
    format: CycleFormat | None = Field(default=None, description="default: the modules'")
    pass_mark: float | None = Field(
        default=None, gt=0, le=1, description="share of the points that passes; default 0.6"
    )
    description: str | None = Field(default=None, max_length=2000)


class CycleList(BaseModel):
    cycles: list[CycleSummary]


class MyCycles(BaseModel):
    employee: str
    cycles: list[MyCycle]


class FollowupIn(BaseModel):
    """Follow-up surveys to schedule for a cycle: days after its end, and who answers."""

    model_config = ConfigDict(extra="forbid")
    days: list[Annotated[int, Field(ge=1, le=730)]] = Field(
        min_length=1, max_length=10, description="days after the cycle's end, e.g. [30, 90]"
    )
    forms: list[Literal["self", "manager"]] = Field(
        default=["self", "manager"], min_length=1, description="self, manager or both"
    )


class Imported(BaseModel):
    imported: Literal[True]
    files: list[ImportReport] = Field(
        description="one per file; `already_imported` when the same file was imported before"
    )


class GraphNode(BaseModel):
    """A node: ``<kind>:<id>``, its kind and label, and the attributes of its kind (a module's
    hours, a document's doc_id and source, a person's employee id and team...)."""

    model_config = ConfigDict(extra="allow")
    id: str
    kind: NodeKind
    label: str


class GraphEdge(BaseModel):
    """An edge, source -> target, with its kind (owns, contains, prerequisite, teaches,
    member_of, has_level, trained, wrote, covers, in_course, for_module, from_team) and, for
    teaches and has_level, the level."""

    model_config = ConfigDict(extra="allow")
    source: str
    target: str
    kind: str


class GraphOut(BaseModel):
    """Node-link JSON, as `networkx.node_link_data` writes it (links under "edges")."""

    directed: bool
    multigraph: bool
    graph: dict[str, Any]
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Bottlenecks(BaseModel):
    bottlenecks: list[Bottleneck]


class Bridges(BaseModel):
    bridges: list[Bridge]


IdList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=1000)
]
CycleFormat = Literal["lecture", "hands-on", "workshop", "mixed", "self-paced"]


# -- near duplicates (kb.dedupe): GET /analytics/duplicates, as `kb duplicates --json` ------
class DuplicateMemberOut(BaseModel):
    doc_id: str
    source: str
    title: str
    similarity: float | None = Field(
        description="estimated Jaccard similarity to the document it matched when it was "
        "linked (None for the canonical)"
    )


class DuplicateGroupOut(BaseModel):
    canonical: DuplicateMemberOut = Field(description="the group's earliest stored document")
    members: list[DuplicateMemberOut] = Field(description="its near copies, in stored order")


class DuplicatesOut(BaseModel):
    threshold: float = Field(description="the similarity at or above which documents are one")
    groups: list[DuplicateGroupOut] = Field(description="largest first")
    copies: int = Field(description="documents linked as near copies, over all groups")


# -- freshness: what may be out of date (GET /analytics/stale, `kb stale --json`) ------------
class StaleDocumentOut(BaseModel):
    """One document that may be out of date."""

    doc_id: str
    title: str
    source: str
    owner: str | None = Field(description="who looks after it (an employee id), from its metadata")
    author: str | None
    date: str | None
    date_source: str | None = Field(description='"metadata", "file" (modified at ingest)...')
    review_by: str | None
    age_days: int | None
    kind: Literal["review_by", "age"] = Field(
        description="review_by: past its review date; age: older than the threshold"
    )
    reason: str


class StaleSkillOut(BaseModel):
    """The documents on one skill that may be out of date (skill null: documents with none)."""

    skill: str | None
    name: str | None = Field(description="the skill's name in the catalogue, where it has one")
    stale_after_days: int = Field(description="the skill's threshold (its own or the default)")
    documents: list[StaleDocumentOut]


class StaleList(BaseModel):
    """`GET /analytics/stale`: material past its review date or older than its threshold,
    grouped per skill (a document with several skills is listed under each)."""

    today: dt.date
    stale_after_days: int = Field(description="the default threshold (KB_STALE_AFTER_DAYS)")
    total: int = Field(description="documents listed (each counted once)")
    skills: list[StaleSkillOut]


# -- named sources (api.sources, docs/sources.md) -------------------------------------------
class SourceIn(BaseModel):
    """A new source, as `kb source add` takes it: `defaults` are "PATTERN: key=value" rules,
    `every` "30m", "1h", "1d" or "manual"."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    location: str = Field(min_length=1, max_length=2000)
    branch: str | None = Field(default=None, max_length=200)
    paths: list[str] = Field(default_factory=list, max_length=100)
    ignore: list[str] = Field(default_factory=list, max_length=200)
    defaults: list[str] = Field(default_factory=list, max_length=100)
    team: str | None = Field(default=None, max_length=200)
    course: str | None = Field(default=None, max_length=200)
    visibility: list[str] = Field(default_factory=list, max_length=100)
    link: str | None = Field(default=None, max_length=2000)
    every: str = "manual"


class SourceOut(BaseModel):
    """A source as `kb source list --json` shows it: its spec, documents, last sync (when,
    what it did: `summary`, why it failed: `error`, files it could not read: `failures`) and
    the next run (None: manual)."""

    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    location: str
    options: dict[str, Any]
    defaults: list[dict[str, Any]]
    link: str | None
    every: int | None
    documents: int
    state: dict[str, Any]
    last_sync_at: str | None
    last_ok_at: str | None
    error: str | None
    summary: dict[str, Any]
    failures: list[dict[str, str]]
    next_run_at: str | None
    running: bool


class SyncOut(BaseModel):
    """A sync: run (`queued` False, with what it did) or made due for the scheduler."""

    model_config = ConfigDict(extra="allow")

    name: str
    queued: bool
    mode: str | None = None
    parsed: int | None = None
    added: int | None = None
    updated: int | None = None
    removed: int | None = None
    unchanged: int | None = None
    failed: int | None = None
    failures: list[dict[str, str]] = Field(default_factory=list)
    error: str | None = None
    seconds: float | None = None


class SourceRemovedOut(BaseModel):
    name: str
    removed_documents: int
    kept_documents: bool


# -- skills frameworks (docs/frameworks.md) -----------------------------------------------------
class FrameworkSummaryOut(_Out):
    name: str
    source: str
    format: str
    skills: int
    groups: int
    languages: list[str]


class FrameworkImportedOut(_Out):
    imported: Literal[True]
    framework: FrameworkSummaryOut
    dropped_decisions: list[str] = Field(
        description="catalogue skills whose approved framework skill the new framework lacks"
    )


class FrameworkMappingOut(_Out):
    framework: FrameworkSummaryOut
    counts: dict[str, int] = Field(description="skills approved, rejected, proposed, none")
    skills: list[dict[str, Any]] = Field(
        description="per catalogue skill: skill, name, status, framework_skill, candidates"
    )


class FrameworkDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["approved", "rejected", "proposed"] = Field(
        description="approved (to framework_id, or the first proposal), rejected (no framework "
        "skill fits), or proposed (forget the decision)"
    )
    framework_id: str | None = Field(default=None, max_length=2000)
