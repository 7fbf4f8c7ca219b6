"""Where the framework and its mapping are kept, behind `FrameworkStore`.

`recommender.frameworks.sqlite.SqliteFrameworkStore` keeps it in `<home>/frameworks.sqlite`,
`recommender.frameworks.postgres.PgFrameworkStore` in PostgreSQL (`fw_` tables); `api.backends`
opens the one in use. One framework at a time (the organisation's): importing another
replaces it in one transaction, drops the proposals (they were about the old one) and the
decisions that point at skills it no longer has, and keeps the rest, so re-importing a newer
ESCO release keeps what organisers approved. The rows both stores write are made here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from recommender.frameworks.types import Candidate, Concept, Decision, Framework, Proposal


class FrameworkStore(Protocol):
    def save_framework(self, framework: Framework, imported_at: str) -> list[str]:
        """Replace the stored framework, all or nothing; returns the catalogue skills whose
        decisions were dropped because their framework skill is gone."""
        ...

    def framework(self) -> Framework | None:
        """The stored framework, or None when none was imported."""
        ...

    def save_proposals(self, proposals: Sequence[Proposal]) -> None:
        """Replace the stored proposals (the last `--propose`)."""
        ...

    def proposals(self) -> list[Proposal]: ...

    def decide(self, decision: Decision) -> None:
        """Record (or replace) the decision on one catalogue skill."""
        ...

    def undecide(self, skill: str) -> bool:
        """Forget the decision on `skill` (back to proposed); False when there was none."""
        ...

    def decisions(self) -> dict[str, Decision]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


META_KEYS = ("name", "source", "format", "imported_at")
DECISION_COLUMNS = "skill, status, framework_id, decided_at, decided_by"


def framework_meta(framework: Framework, imported_at: str) -> list[tuple[str, str]]:
    return list(
        zip(
            META_KEYS,
            (framework.name, framework.source, framework.format, imported_at),
            strict=True,
        )
    )


def concept_rows(framework: Framework) -> list[tuple[int, str, str]]:
    return [
        (position, concept.id, json.dumps(concept.to_dict(), ensure_ascii=False))
        for position, concept in enumerate(framework.concepts)
    ]


def framework_from_rows(meta: dict[str, str], rows: Iterable[Sequence[Any]]) -> Framework | None:
    if "imported_at" not in meta:
        return None
    concepts = tuple(Concept.from_dict(json.loads(row[0])) for row in rows)
    return Framework(meta["name"], meta["source"], meta["format"], concepts)


def proposal_rows(proposals: Sequence[Proposal]) -> list[tuple[int, str, str]]:
    return [
        (position, p.skill, json.dumps([c.to_dict() for c in p.candidates], ensure_ascii=False))
        for position, p in enumerate(proposals)
    ]


def proposal_from_row(skill: str, data: str) -> Proposal:
    return Proposal(skill, tuple(Candidate(**c) for c in json.loads(data)))


def decision_params(d: Decision) -> tuple[str, str, str | None, str, str]:
    return (d.skill, d.status, d.framework_id, d.decided_at, d.by)


def decision_from_row(row: Sequence[Any]) -> Decision:
    return Decision(skill=row[0], status=row[1], framework_id=row[2], decided_at=row[3], by=row[4])


def gone_decisions(decisions: Iterable[Decision], framework: Framework) -> list[str]:
    """The catalogue skills whose approved framework skill is not in `framework`."""
    ids = {c.id for c in framework.concepts}
    return sorted(
        d.skill for d in decisions if d.framework_id is not None and d.framework_id not in ids
    )
