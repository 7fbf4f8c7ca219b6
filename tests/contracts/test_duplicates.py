"""The near-duplicate part of the document store's contract (kb.dedupe), on every backend:
signatures kept in stored order, links set and read by group, rows gone with their document."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.store.base import DuplicateLink
from kb.types import ChunkInput, DocumentInput, DocumentMeta, Location
from tests.contracts import fresh_backend


def _doc(origin: str) -> DocumentInput:
    chunk = ChunkInput("h", f"text of {origin}", Location("start"))
    return DocumentInput(origin, origin, "markdown", origin, DocumentMeta(title=origin), (chunk,))


def test_signatures_and_links_on_every_backend(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    opened = fresh_backend(backend, tmp_path / "home", request)
    store = opened.open_store()
    try:
        ids = [store.replace_document(_doc(o), [None])[0] for o in ("a", "b", "c", "d")]
        a, b, c, d = ids
        store.put_signature(a, b"\x01" * 512, None, None)
        store.put_signature(b, b"\x02" * 512, a, 0.9)
        store.put_signature(c, b"\x03" * 512, None, None)
        store.put_signature(d, None, None, None)  # too short to sign
        store.put_signature("no-such-doc", b"\x04" * 512, None, None)  # ignored
        assert [(i, s[:1], k) for i, s, k in store.signatures()] == [
            (a, b"\x01", None),
            (b, b"\x02", a),
            (c, b"\x03", None),
        ]
        assert store.duplicate_links([b]) == [DuplicateLink(b, a, 0.9)]
        assert store.duplicate_links([a, c]) == [DuplicateLink(b, a, 0.9)]
        assert store.duplicate_links([c]) == []
        # a re-signed document keeps its place; links set in one go
        store.put_signature(a, b"\x05" * 512, None, None)
        store.set_canonicals([(c, a, 0.7)])
        assert [i for i, _, _ in store.signatures()] == [a, b, c]
        assert store.duplicate_links(None) == [DuplicateLink(b, a, 0.9), DuplicateLink(c, a, 0.7)]
        store.delete_document(b)
        assert [i for i, _, _ in store.signatures()] == [a, c]
        assert store.duplicate_links(None) == [DuplicateLink(c, a, 0.7)]
    finally:
        store.close()


def test_band_keys_find_candidates_and_go_with_their_document(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A document is compared only with those sharing one of its bands at the same band: the
    store finds them in stored order, replaces a document's keys when it is signed again,
    and drops them with the document."""
    opened = fresh_backend(backend, tmp_path / "home", request)
    store = opened.open_store()
    try:
        a, b, c = (store.replace_document(_doc(o), [None])[0] for o in ("a", "b", "c"))
        store.put_signature(a, b"\x01" * 512, None, None, [10, 11, 12])
        store.put_signature(b, b"\x02" * 512, None, None, [20, 11, 22])  # band 1 as a's
        store.put_signature(c, b"\x03" * 512, None, None, [11, 30, 31])  # 11, but at band 0
        assert [i for i, _, _ in store.signature_candidates([99, 11, 98])] == [a, b]
        assert [i for i, _, _ in store.signature_candidates([11, 0, 0])] == [c]
        assert [i for i, _, _ in store.signature_candidates([-(2**63), 2**63 - 1])] == []
        store.put_signature(a, b"\x01" * 512, None, None, [40, 41, 42])  # signed again
        assert [i for i, _, _ in store.signature_candidates([0, 11, 0])] == [b]
        store.put_bands([(c, [40, 0, 0])])  # keys set apart from the signature
        assert [i for i, _, _ in store.signature_candidates([40, 0, 0])] == [a, c]
        store.delete_document(a)
        assert [i for i, _, _ in store.signature_candidates([40, 0, 0])] == [c]
        assert [i for i, _, _ in store.signatures([c, b])] == [b, c]  # stored order
    finally:
        store.close()
