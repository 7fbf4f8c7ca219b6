"""Feedback events (completions and ratings) as typed values: what the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["completion", "rating"]


@dataclass(frozen=True)
class Event:
    """One recorded fact; the store keeps them forever and they are re-applied on reload."""

    kind: EventKind
    employee: str
    created_at: str
    module: str | None = None
    score: float | None = None
    doc_id: str | None = None
    rating: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "employee": self.employee}
        if self.kind == "completion":
            out.update(module=self.module, score=self.score)
        else:
            out.update(doc_id=self.doc_id, rating=self.rating)
        out["created_at"] = self.created_at
        if self.details:
            out["details"] = self.details
        return out
