"""One person's data on request (GDPR articles 15 and 17, docs/person-data.md): everything the
deployment stores about an employee, exported as JSON, or erased everywhere; and the retention
of the search log and the events (`kb retention apply`, `kb worker`).

This is wiring: each store is asked through its contract (`RecommenderStore`, `SearchLog`,
`KnowledgeBase`, `AuditLog`), so one function serves both backends, and what names a person
in the catalogue or the events is decided by `recommender.people`. The store's own files are
compacted afterwards (`Backend.compact`), so deleted rows do not linger in free pages.

What identifies a person: their employee id, and the name and e-mail of their catalogue entry.
Their votes are stored under a pseudonym (`kb.searchlog.base.pseudonym` of
"employee:<id>"), recomputed here from the log's secret to find them.

The audit log records that an erasure happened (`person.erase`), who asked and a reference
that names nobody: the pseudonym of "person:<id>" under the search log's secret, so that the
same request made again can be answered "already erased" and a data-protection officer who
knows the id can check it, while the record itself says nothing to anyone else. Earlier audit
records that name the person (their sign-ins) are kept: the chain cannot lose a record without
`kb audit verify` failing, and a security log is kept under its own legal ground; the export
lists them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kb.errors import KBError, NotFoundError

if TYPE_CHECKING:
    from api.backends import Backend
    from kb import KnowledgeBase
    from kb.types import DocumentInfo
    from recommender import PersonTerms

DocumentsChoice = Literal["keep", "remove"]
ERASE_ACTION = "person.erase"
EXPORT_ACTION = "person.export"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def voter_pseudonyms(secret: bytes, employee: str) -> list[str]:
    """The pseudonyms the search log stores this employee's votes under (an employee key
    votes as "employee:<id>", `api.http.auth.Principal.voter_key`)."""
    from kb.searchlog.base import pseudonym

    return [pseudonym(secret, f"employee:{employee}")]


def person_reference(secret: bytes, employee: str) -> str:
    """How the audit log names a person whose data was exported or erased: a pseudonym under
    the search log's secret, which names nobody without it."""
    from kb.searchlog.base import pseudonym

    return "person-" + pseudonym(secret, f"person:{employee}")


def _doc_view(doc: DocumentInfo) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "type": doc.type,
        "author": doc.author,
        "owner": doc.owner,
        "date": doc.date,
        "review_by": doc.review_by,
        "team": doc.team,
    }


def _authored(kb: KnowledgeBase, terms: PersonTerms) -> list[DocumentInfo]:
    """Documents whose metadata names the person as `author` or freshness `owner`."""
    return [
        d
        for d in kb.list_documents(None)
        if terms.mentioned_in(d.author) or terms.mentioned_in(d.owner)
    ]


def _keys_of(keys_file: Path | None, employee: str) -> list[dict[str, Any]]:
    """The API keys file's entries that act as this employee (empty without a file)."""
    if keys_file is None or not keys_file.exists():
        return []
    from api.http.auth import read_entries

    entries = read_entries(keys_file)
    return [e for e in entries if isinstance(e, dict) and e.get("employee") == employee]


def _key_id(entry: Mapping[str, Any]) -> str:
    from api.http.auth import hash_key

    return str(entry.get("key_sha256") or hash_key(str(entry.get("key", ""))))[:16]


@dataclass
class _Found:
    """What is stored about a person, gathered from every store."""

    terms: PersonTerms
    reference: str
    catalog: dict[str, list[dict[str, Any]]]
    events: list[dict[str, Any]]
    searches: list[dict[str, Any]]
    opens: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    audit: list[dict[str, Any]] = field(default_factory=list)

    def anything(self) -> bool:
        return any(
            (
                self.catalog,
                self.events,
                self.searches,
                self.opens,
                self.votes,
                self.documents,
                self.keys,
            )
        )


def _gather(backend: Backend, kb: KnowledgeBase, employee: str, keys_file: Path | None) -> _Found:
    from recommender import catalog_mentions, person_events, terms_for

    with backend.open_recommender_store() as store:
        raw = store.load_raw()
        terms = terms_for(raw, employee)
        catalog = catalog_mentions(raw, terms)
        events = [e.to_dict() for e in person_events(store.events(), terms)]
    log = backend.open_search_log()
    try:
        secret = log.voter_secret()
        voters = set(voter_pseudonyms(secret, employee))
        searches = [
            _search_view(s)
            for s in log.searches(_EPOCH)
            if s.employee == employee or terms.mentioned_in(s.query)
        ]
        search_ids = {s["search_id"] for s in searches}
        opens = [
            {"at": o.at.isoformat(), "doc_id": o.doc_id, "search_id": o.search_id}
            for o in log.opens(_EPOCH)
            if o.employee == employee or o.search_id in search_ids
        ]
        votes = [
            {"at": v.at.isoformat(), "query": v.query, "doc_id": v.doc_id, "vote": v.vote}
            for v in log.feedback(_EPOCH)
            if v.voter in voters or v.employee == employee or terms.mentioned_in(v.query)
        ]
    finally:
        log.close()
    documents = [_doc_view(d) for d in _authored(kb, terms)]
    keys = [{"key_id": _key_id(e), "role": e.get("role")} for e in _keys_of(keys_file, employee)]
    return _Found(
        terms,
        person_reference(secret, employee),
        catalog,
        events,
        searches,
        opens,
        votes,
        documents,
        keys,
    )


def _search_view(s: Any) -> dict[str, Any]:
    return {
        "search_id": s.search_id,
        "at": s.at.isoformat(),
        "query": s.query,
        "mode": s.mode,
        "filters": dict(s.filters),
        "origin": s.origin,
        "recorded_with_employee": s.employee is not None,
    }


def _audit_mentions(backend: Backend, terms: PersonTerms) -> tuple[list[dict[str, Any]], Any]:
    """The audit records that name the person, and the log's record of an erasure (if any)."""
    import json

    log = backend.open_audit_log()
    try:
        records = log.records(None)
    finally:
        log.close()
    named = [
        r.to_json()
        for r in records
        if terms.mentioned_in(r.target) or terms.mentioned_in(json.dumps(dict(r.detail)))
    ]
    return named, records


def _already_erased(records: Sequence[Any], reference: str) -> Any:
    return next((r for r in records if r.action == ERASE_ACTION and r.target == reference), None)


def export_person(
    backend: Backend, kb: KnowledgeBase, employee: str, *, keys_file: Path | None = None
) -> dict[str, Any]:
    """Everything stored about `employee`, as JSON (docs/person-data.md lists the fields).
    Raises `NotFoundError` when nothing is stored about them (saying so when they were
    erased). The caller audits the export (`person.export`) before handing it out."""
    found = _gather(backend, kb, employee, keys_file)
    audit, records = _audit_mentions(backend, found.terms)
    if not found.anything() and not audit:
        _unknown(employee, _already_erased(records, found.reference))
    entry = next((e for e in found.catalog.get("employees", []) if e.get("id") == employee), None)
    return {
        "employee": employee,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "record": entry,
        "levels": (entry or {}).get("skills", {}),
        "targets": (entry or {}).get("targets", {}),
        "completed": (entry or {}).get("completed", []),
        "catalogue_mentions": {
            kind: entries for kind, entries in found.catalog.items() if kind != "employees"
        },
        "events": found.events,
        "searches": found.searches,
        "opens": found.opens,
        "votes": found.votes,
        "documents": found.documents,
        "api_keys": found.keys,
        "audit_records": audit,
    }


def _unknown(employee: str, erased: Any) -> None:
    if erased is not None:
        raise NotFoundError(
            f"Nothing is stored about {employee!r}: they were erased on "
            f"{erased.at.date().isoformat()} (audit record {erased.seq})."
        )
    raise NotFoundError(
        f"No person {employee!r}: no catalogue entry, event, search, vote, document or key "
        "names them (ids are case-sensitive: the catalogue's employees.yaml lists them)."
    )


@dataclass(frozen=True)
class ErasureReport:
    """What `erase_person` did: per place, how many rows or entries went or changed."""

    employee: str
    reference: str
    already_erased: bool
    counts: Mapping[str, int]
    catalog_files: tuple[str, ...] = ()  # files on disk still declaring the person
    keys_file_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "reference": self.reference,
            "already_erased": self.already_erased,
            "counts": dict(self.counts),
            "catalog_files_still_naming": list(self.catalog_files),
            "keys_file_note": self.keys_file_note,
        }


def erase_person(
    backend: Backend,
    kb: KnowledgeBase,
    employee: str,
    *,
    actor: str,
    documents: DocumentsChoice = "keep",
    keys_file: Path | None = None,
    source_ip: str | None = None,
) -> ErasureReport:
    """Remove `employee` from every store (docs/person-data.md): their catalogue entry and
    every reference to them, their events, searches, opens and votes (and searches naming
    them), their API keys, and documents they authored (kept with author and owner cleared,
    or removed: `documents`); then compact the store's files. The audit record
    (`person.erase`, by `actor`, with the non-identifying reference) is written first, and
    a record that cannot be written stops the erasure (`api.audit.AuditWriteError`).

    Idempotent: a second call finds nothing and reports `already_erased`. Raises
    `NotFoundError` for an id nothing names and that was never erased."""
    from api.audit import Auditor
    from recommender import catalog_without, events_without

    found = _gather(backend, kb, employee, keys_file)
    _, records = _audit_mentions(backend, found.terms)
    erased = _already_erased(records, found.reference)
    if not found.anything():
        if erased is None:
            _unknown(employee, None)
        backend.compact()  # a first run whose compaction failed (files held) finishes here
        return ErasureReport(employee, found.reference, True, {})
    auditor = Auditor(backend.open_audit_log())
    try:
        auditor.record(
            actor,
            ERASE_ACTION,
            found.reference,
            {"documents": documents},
            source_ip,
        )
    finally:
        auditor.close()
    counts: dict[str, int] = {}
    terms = found.terms
    catalog_source: str | None = None
    with backend.open_recommender_store() as store:
        raw = store.load_raw()
        if raw is not None and found.catalog:
            cleaned, counts["catalogue_entries"] = catalog_without(raw, terms)
            catalog_source = store.meta("catalog_source")
            store.save_catalog(cleaned, catalog_source or "")
        remove, details = events_without(store.events(), terms)
        counts["events"] = store.rewrite_events(remove, details) if remove or details else 0
    with backend.open_xapi_outbox() as outbox:  # their statements for the LRS (docs/xapi.md)
        counts["xapi_statements"] = outbox.forget(employee)
    log = backend.open_search_log()
    try:
        voters = voter_pseudonyms(log.voter_secret(), employee)
        counts["search_log_rows"] = log.forget_person(employee, voters, terms.all())
    finally:
        log.close()
    counts["documents_removed"] = counts["documents_anonymised"] = 0
    for doc in _authored(kb, terms):
        if documents == "remove":
            kb.delete(doc.doc_id)
            counts["documents_removed"] += 1
        else:
            chunks = kb.get_chunks(doc.doc_id)
            given = doc.as_input(chunks)
            meta = replace(
                given.meta,
                author=None if terms.mentioned_in(doc.author) else doc.author,
                owner=None if terms.mentioned_in(doc.owner) else doc.owner,
            )
            kb.write_documents([replace(given, meta=meta)])
            counts["documents_anonymised"] += 1
    kb.flush()
    note = _remove_keys(keys_file, employee, actor, backend, counts)
    backend.compact()
    return ErasureReport(
        employee,
        found.reference,
        False,
        counts,
        _catalog_files_naming(catalog_source, terms),
        note,
    )


def _remove_keys(
    keys_file: Path | None, employee: str, actor: str, backend: Backend, counts: dict[str, int]
) -> str | None:
    """The person's API keys taken out of the keys file (each audited as `key.remove`); a
    file that would be left empty is not written (the service refuses an empty one)."""
    theirs = _keys_of(keys_file, employee)
    counts["api_keys"] = 0
    if not theirs or keys_file is None:
        return None
    from api.audit import Auditor
    from api.http.auth import read_entries, write_keys_file

    entries = read_entries(keys_file)
    kept = [e for e in entries if not (isinstance(e, dict) and e.get("employee") == employee)]
    if not kept:
        return (
            f"{keys_file} holds only this person's keys: not rewritten (the service needs at "
            "least one key). Add another key, then remove theirs with `kb keys remove`."
        )
    auditor = Auditor(backend.open_audit_log())
    try:
        for entry in theirs:
            auditor.record(actor, "key.remove", _key_id(entry), {"role": entry.get("role")})
    finally:
        auditor.close()
    write_keys_file(keys_file, kept)
    counts["api_keys"] = len(theirs)
    return f"{len(theirs)} key(s) removed from {keys_file}: restart the service to apply."


def _catalog_files_naming(source: str | None, terms: PersonTerms) -> tuple[str, ...]:
    """The YAML files of the catalogue folder last loaded (when this machine can read it)
    that still name the person: the organiser's files, which kb never rewrites."""
    if not source:
        return ()
    folder = Path(source)
    if not folder.is_dir():
        return ()
    named = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if terms.mentioned_in(text):
            named.append(str(path))
    return tuple(named)


def apply_retention(backend: Backend, *, searches_days: int, events_days: int) -> dict[str, int]:
    """Forget searches, opens and votes older than `searches_days` and events older than
    `events_days` (0: keep them all); returns how many rows each forgot."""
    now = datetime.now(UTC)
    done = {"search_log_rows": 0, "events": 0, "xapi_statements": 0}
    if searches_days:
        log = backend.open_search_log()
        try:
            done["search_log_rows"] = log.forget_before(now - timedelta(days=searches_days))
        finally:
            log.close()
    if events_days:
        before = (now - timedelta(days=events_days)).isoformat(timespec="seconds")
        with backend.open_recommender_store() as store:
            done["events"] = store.forget_events_before(before)
        with backend.open_xapi_outbox() as outbox:  # statements sent for those events
            done["xapi_statements"] = outbox.drop_sent_before(before)
    return done


class RetentionLoop:
    """`apply_retention` every `interval` seconds in a daemon thread (`kb worker`), the first
    time at start; a failure is logged and tried again at the next turn, never fatal."""

    def __init__(
        self, backend: Backend, *, searches_days: int, events_days: int, interval: float
    ) -> None:
        import threading

        self._backend = backend
        self._days = {"searches_days": searches_days, "events_days": events_days}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-retention", daemon=True)

    def start(self) -> None:
        if any(self._days.values()):
            self._thread.start()

    def _run(self) -> None:
        import logging

        log = logging.getLogger("kb.retention")
        while not self._stop.is_set():
            try:
                done = apply_retention(self._backend, **self._days)
                if any(done.values()):
                    log.info("retention: forgot %s", done)
            except Exception as exc:  # the database away: the next turn tries again
                log.warning("retention could not be applied: %s", exc)
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


__all__ = [
    "RetentionLoop",
    "ERASE_ACTION",
    "EXPORT_ACTION",
    "ErasureReport",
    "KBError",
    "apply_retention",
    "erase_person",
    "person_reference",
    "export_person",
    "voter_pseudonyms",
]
