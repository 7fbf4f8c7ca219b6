"""Near-duplicate documents: MinHash signatures of each document's words, and the link from
each copy to the canonical document of its group.

A document whose text is a near copy of one already stored (an exact copy, a copy with a
paragraph changed or a heading renamed, a re-post with a tenth of it edited) is linked to the
*canonical* document of that stored one's group: the member stored first. The canonical never
changes when another copy arrives, so links are stable and a re-post can never displace the
original; when the canonical is deleted the earliest remaining member takes its place.

How text is compared (`shingles`): the document's chunk bodies, folded as search folds them
(`kb.language.terms.fold`: full-width forms, traditional Chinese as simplified) and lower-cased,
cut into tokens (a run of letters or digits is one token, each Han character is one), then every
run of `SHINGLE` consecutive tokens is a shingle. The MinHash of the shingle set (datasketch,
`NUM_PERM` permutations, a fixed seed, so that signatures made by any process or version with
the same constants compare) estimates the Jaccard similarity of two documents' shingle sets;
two documents are duplicates at `THRESHOLD` or above. A translation shares almost no shingle
with its original (other words, other script) and is never a duplicate: it is another
document for another reader. `bench/duplicates.py` measures the threshold on a planted set
(docs/duplicates.md).

Who uses it: `KnowledgeBase` links each document it writes (`link_documents`) and relinks
after a delete (`after_delete`); `kb dedupe` recomputes the whole store (`recompute`); search
shows one member of a group with the others visible to the reader in `Hit.also_in`
(`collapse_fused`, `also_in_of`); the organisers list the groups (`duplicate_groups`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kb.language.terms import HAN_RUN, TOKEN, fold
from kb.types import AlsoIn, DocumentInput, visible_to

if TYPE_CHECKING:
    from kb.store.base import DocumentStore, DuplicateLink

NUM_PERM = 128  # permutations: the estimate's standard error is about 0.04 near 0.5
SEED = 1  # fixed: signatures made by any process compare
# datasketch's permutation scheme, named (its default changed in 2.0): stored signatures
# compare only with signatures of the same scheme, seed and size.
SCHEME = "affine32"
SHINGLE = 2  # tokens per shingle (bench/duplicates.py tried 2 to 5: 2 separates best)
# Estimated Jaccard similarity at or above which two documents are one (bench/duplicates.py:
# precision and recall of groups on a planted set; see docs/duplicates.md).
THRESHOLD = 0.45
MIN_SHINGLES = 5  # a document with fewer shingles is too short to call a copy of anything
# Locality-sensitive hashing: a document is compared only with the stored documents that share
# one of its BANDS bands of ROWS signature values (the store's band table), so linking a new
# document reads a few signatures, not the whole store's (every one of them was read for each
# document written before). Two documents of similarity s share a band with probability
# 1 - (1 - s**ROWS)**BANDS: a pair at THRESHOLD is missed 1.8% of the time, at 0.5 0.4%, at 0.6
# never in practice; unrelated documents (s ~ 0.1) are candidates 4% of the time, and every
# candidate is confirmed by its estimated similarity. (datasketch's own choice for 0.45, 25
# bands of 5 rows, misses 63% of the pairs at 0.45 and 38% at 0.52: tuned for fewer
# candidates, where a missed copy costs us more than a signature read.)
BANDS = 42
ROWS = 3
BANDS_KEY = "dedupe_bands"  # store meta: the band layout the stored band keys were made by
BANDS_FORMAT = f"{BANDS}x{ROWS}:blake2b64"

FusedList = list[tuple[str, int, float]]  # (doc_id, chunk_id, score), best first


def tokens(text: str) -> list[str]:
    """The words of `text` as duplicates are compared: folded, lower-cased, each Han
    character a token of its own (Chinese has no spaces; characters need no dictionary)."""
    out: list[str] = []
    for match in TOKEN.finditer(fold(text).lower()):
        word = match.group()
        if HAN_RUN.fullmatch(word):
            out.extend(word)
        else:
            out.append(word)
    return out


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """Every run of `size` consecutive tokens of `text` (the whole text when shorter)."""
    words = tokens(text)
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def document_text(bodies: Iterable[str]) -> str:
    """What a document is compared on: its chunks' bodies in order (not the headings, which
    each chunk repeats: a renamed heading would weigh as much as the text under it)."""
    return "\n".join(bodies)


def signature(text: str, size: int = SHINGLE) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM uint32) of `text`'s shingles; None when it has fewer
    than `MIN_SHINGLES` (too short to tell a copy from a coincidence)."""
    from datasketch import MinHash

    found = shingles(text, size)
    if len(found) < MIN_SHINGLES:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch([s.encode("utf-8") for s in found])
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def signature_of(doc: DocumentInput) -> np.ndarray | None:
    return signature(document_text(chunk.body for chunk in doc.chunks))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of the two signatures' shingle sets."""
    return float(np.mean(a == b))


def band_keys(sig: np.ndarray) -> list[int]:
    """The signature's `BANDS` band keys, one per band (a signed 64-bit hash of its `ROWS`
    values, so that both backends store it as an integer)."""
    values = np.asarray(sig, dtype="<u4")
    return [
        int.from_bytes(
            hashlib.blake2b(values[i * ROWS : (i + 1) * ROWS].tobytes(), digest_size=8).digest(),
            "little",
            signed=True,
        )
        for i in range(BANDS)
    ]


def to_bytes(sig: np.ndarray) -> bytes:
    return np.asarray(sig, dtype="<u4").tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4")


@dataclass(frozen=True)
class _Candidates:
    """Signed documents to compare with, in stored order (earliest first)."""

    doc_ids: list[str]
    canonical: dict[str, str | None]
    matrix: np.ndarray  # one signature per row, in the order of doc_ids


def _as_candidates(rows: Sequence[tuple[str, bytes, str | None]]) -> _Candidates:
    ids = [doc_id for doc_id, _, _ in rows]
    matrix = (
        np.vstack([from_bytes(blob) for _, blob, _ in rows])
        if rows
        else np.zeros((0, NUM_PERM), dtype=np.uint32)
    )
    return _Candidates(ids, {doc_id: canonical for doc_id, _, canonical in rows}, matrix)


def ensure_bands(store: DocumentStore) -> None:
    """Give every signed document its band keys once per store (a store signed before the
    band table existed, or by another band layout): until then a copy of an older document
    would not be found."""
    if store.get_meta(BANDS_KEY) == BANDS_FORMAT:
        return
    rows = store.signatures()
    store.put_bands([(doc_id, band_keys(from_bytes(blob))) for doc_id, blob, _ in rows])
    store.set_meta(BANDS_KEY, BANDS_FORMAT)


def _candidates(store: DocumentStore, sig: np.ndarray) -> _Candidates:
    return _as_candidates(store.signature_candidates(band_keys(sig)))


def _best_match(
    stored: _Candidates, sig: np.ndarray, exclude: set[str], threshold: float
) -> tuple[str, float] | None:
    """The most similar candidate at or above `threshold` (earliest on a tie)."""
    if not stored.doc_ids:
        return None
    scores = (stored.matrix == sig).mean(axis=1)
    for position in np.argsort(-scores, kind="stable"):
        doc_id = stored.doc_ids[int(position)]
        if float(scores[position]) < threshold:
            return None
        if doc_id not in exclude:
            return doc_id, float(scores[position])
    return None


def _members_of(store: DocumentStore, canonical: str) -> list[str]:
    """The documents linked to the stored document `canonical` as its copies, in stored
    order."""
    return [
        link.doc_id for link in store.duplicate_links([canonical]) if link.canonical == canonical
    ]


def link_documents(
    store: DocumentStore,
    docs: Sequence[tuple[str, DocumentInput]],
    threshold: float = THRESHOLD,
) -> dict[str, str | None]:
    """Sign each just-written (doc_id, document) and link it to the canonical document of
    its most similar stored document, when that one is at `threshold` or more; returns
    doc_id -> canonical (None: it is no copy). A rewritten document that was the canonical
    of others keeps those still similar to it; the others are linked afresh. Only the
    documents sharing a band with it are read (`BANDS`)."""
    ensure_bands(store)
    links: dict[str, str | None] = {}
    for doc_id, doc in docs:
        sig = signature_of(doc)
        members = _members_of(store, doc_id)
        if sig is None:
            store.put_signature(doc_id, None, None, None)
            links[doc_id] = None
        else:
            keys = band_keys(sig)
            stored = _as_candidates(store.signature_candidates(keys))
            match = _best_match(stored, sig, {doc_id, *members}, threshold)
            canonical = None
            if match is not None:
                canonical = stored.canonical.get(match[0]) or match[0]
            store.put_signature(
                doc_id,
                to_bytes(sig),
                canonical,
                None if match is None else round(match[1], 4),
                keys,
            )
            links[doc_id] = canonical
        if members:
            _relink(store, members, threshold)
    return links


def _relink(store: DocumentStore, members: Sequence[str], threshold: float) -> None:
    """Link `members` (who lost their canonical, or whose canonical changed) afresh, in
    stored order: the first of them with no match elsewhere becomes the new canonical of
    those that match it."""
    ordered = store.signatures(list(members))
    pending = {doc_id for doc_id, _, _ in ordered}
    for doc_id, blob, _ in ordered:
        pending.discard(doc_id)
        sig = from_bytes(blob)
        stored = _candidates(store, sig)
        match = _best_match(stored, sig, {doc_id, *pending}, threshold)
        canonical = None
        if match is not None:
            target = stored.canonical.get(match[0])
            canonical = match[0] if target is None or target in pending else target
        store.set_canonicals([(doc_id, canonical, None if match is None else round(match[1], 4))])


def after_delete(store: DocumentStore, doc_id: str, threshold: float = THRESHOLD) -> None:
    """After `doc_id` was deleted (its own signature went with it): its group's members are
    linked afresh, the earliest of them becoming canonical."""
    # Its own row went with it, so its copies are found among all the links (a delete is
    # rare; the links are a short list beside the signatures).
    members = [link.doc_id for link in store.duplicate_links(None) if link.canonical == doc_id]
    if members:
        ensure_bands(store)
        _relink(store, members, threshold)


@dataclass(frozen=True)
class RecomputeReport:
    """What `kb dedupe` did: documents signed, groups found, documents linked as copies."""

    documents: int
    signed: int
    groups: int
    copies: int
    threshold: float


def recompute(store: DocumentStore, threshold: float = THRESHOLD) -> RecomputeReport:
    """Sign every stored document afresh and link the whole store again (after an upgrade
    that changed how documents are compared, or a `kb migrate`): candidates from the same
    bands as `link_documents`, each confirmed by its estimated similarity; documents visited
    in stored order, so each group's canonical is its earliest member."""
    order = [doc_id for doc_id, _, _ in store.signatures()]
    known = set(order)
    docs = sorted(store.list_documents(None), key=lambda d: d.doc_id)
    order += [d.doc_id for d in docs if d.doc_id not in known]
    position = {doc_id: i for i, doc_id in enumerate(order)}
    sigs: dict[str, np.ndarray] = {}
    for doc_id in order:
        sig = signature(document_text(c.body for c in store.get_chunks(doc_id)))
        if sig is None:
            store.put_signature(doc_id, None, None, None)
        else:
            store.put_signature(doc_id, to_bytes(sig), None, None, band_keys(sig))
            sigs[doc_id] = sig
    store.set_meta(BANDS_KEY, BANDS_FORMAT)
    seen: dict[tuple[int, int], list[str]] = {}
    canonical: dict[str, str | None] = {}
    links: list[tuple[str, str | None, float | None]] = []
    for doc_id in order:
        if doc_id not in sigs:
            continue
        keys = list(enumerate(band_keys(sigs[doc_id])))
        others = dict.fromkeys(other for key in keys for other in seen.get(key, ()))
        scored = sorted(
            (-similarity(sigs[doc_id], sigs[other]), position[other], other) for other in others
        )
        best = next(((-s, o) for s, _, o in scored if -s >= threshold), None)
        target = None if best is None else (canonical.get(best[1]) or best[1])
        canonical[doc_id] = target
        links.append((doc_id, target, None if best is None else round(best[0], 4)))
        for key in keys:
            seen.setdefault(key, []).append(doc_id)
    store.set_canonicals(links)
    copies = sum(1 for _, target, _ in links if target is not None)
    groups = len({target for _, target, _ in links if target is not None})
    return RecomputeReport(len(order), len(sigs), groups, copies, threshold)


# -- search ----------------------------------------------------------------------------------
def collapse_fused(
    store: DocumentStore, fused: FusedList
) -> tuple[FusedList, dict[str, list[str]]]:
    """`fused` with only the best-ranked member of each duplicate group kept (the list was
    filtered for the reader already, so the member kept is one they may see), and for each
    kept document the other members of its group (all of them, visible or not: `also_in_of`
    checks). Unchanged, with no members, when no document of `fused` has a copy."""
    links = store.duplicate_links([doc_id for doc_id, _, _ in fused])
    if not links:
        return fused, {}
    group_of: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for link in links:
        group_of[link.doc_id] = link.canonical
        group_of[link.canonical] = link.canonical
        members.setdefault(link.canonical, [link.canonical]).append(link.doc_id)
    kept: FusedList = []
    shown: set[str] = set()
    others: dict[str, list[str]] = {}
    for entry in fused:
        group = group_of.get(entry[0])
        if group is None:
            kept.append(entry)
        elif group not in shown:
            shown.add(group)
            kept.append(entry)
            others[entry[0]] = [m for m in members[group] if m != entry[0]]
    return kept, others


def also_in_of(
    store: DocumentStore, doc_ids: Sequence[str], viewer_teams: tuple[str, ...] | None
) -> tuple[AlsoIn, ...]:
    """The documents `doc_ids` as a hit lists them, leaving out any the reader may not see
    (`kb.types.visible_to`): a restricted copy is never revealed, not even its title."""
    found: list[AlsoIn] = []
    for doc_id in doc_ids:
        doc = store.get_document(doc_id)
        if doc is not None and visible_to(doc.visibility, viewer_teams):
            found.append(AlsoIn(doc.doc_id, doc.source, doc.title))
    return tuple(found)


# -- the organisers' listing -----------------------------------------------------------------
@dataclass(frozen=True)
class GroupMember:
    doc_id: str
    source: str
    title: str
    similarity: float | None  # to the stored document it matched when it was linked


@dataclass(frozen=True)
class DuplicateGroup:
    """A canonical document and the near copies linked to it, in stored order."""

    canonical: GroupMember
    members: tuple[GroupMember, ...]


def duplicate_groups(
    store: DocumentStore, viewer_teams: tuple[str, ...] | None = None
) -> list[DuplicateGroup]:
    """Every group with at least one copy the viewer may see beside its canonical (None:
    every document), largest first, then by the canonical's source."""
    by_canonical: dict[str, list[DuplicateLink]] = {}
    for link in store.duplicate_links(None):
        by_canonical.setdefault(link.canonical, []).append(link)
    groups: list[DuplicateGroup] = []
    for canonical_id, links in by_canonical.items():
        canonical = store.get_document(canonical_id)
        if canonical is None:
            continue
        people = [(link, store.get_document(link.doc_id)) for link in links]
        members = tuple(
            GroupMember(doc.doc_id, doc.source, doc.title, link.similarity)
            for link, doc in people
            if doc is not None and visible_to(doc.visibility, viewer_teams)
        )
        if not members:
            continue
        if not visible_to(canonical.visibility, viewer_teams):
            first, *rest = members
            groups.append(DuplicateGroup(first, tuple(rest)))
        else:
            head = GroupMember(canonical.doc_id, canonical.source, canonical.title, None)
            groups.append(DuplicateGroup(head, members))
    groups = [g for g in groups if g.members]
    groups.sort(key=lambda g: (-len(g.members), g.canonical.source))
    return groups


__all__ = [
    "BANDS",
    "NUM_PERM",
    "ROWS",
    "SHINGLE",
    "THRESHOLD",
    "DuplicateGroup",
    "GroupMember",
    "RecomputeReport",
    "after_delete",
    "also_in_of",
    "band_keys",
    "collapse_fused",
    "document_text",
    "duplicate_groups",
    "ensure_bands",
    "link_documents",
    "recompute",
    "shingles",
    "signature",
    "signature_of",
    "similarity",
]
