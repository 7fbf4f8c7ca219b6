"""Events as typed values: what the store keeps and replays over every catalogue it loads.

Completions and ratings come from learners; the kinds of a training cycle come from
organisers: `cycle` (a cycle created through the API; its definition in `details`), and the
results imported from CSV files, `assessment` (a score before or after the cycle, per skill
or per module), `survey` (ratings of fixed questions and a comment) and `attendance` (one
session, attended or not). A cycle's events carry its id in `cycle`. Follow-up evaluation
adds `followup` (a follow-up survey scheduled for a cycle; its answers are `survey` events
with `followup` and `form` in their details) and `kpi` (one value of a team's KPI on a date;
no employee, no cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

EventKind = Literal[
    "completion", "rating", "cycle", "assessment", "survey", "attendance", "followup", "kpi"
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
CYCLE_KINDS = ("cycle", "assessment", "survey", "attendance", "followup", "kpi")


@dataclass(frozen=True)
class Event:
    """One recorded fact; the store keeps them forever and they are re-applied on reload."""

    kind: EventKind
    employee: str  # "" for a `cycle` event, which belongs to no employee
    created_at: str
    module: str | None = None
    score: float | None = None
    doc_id: str | None = None
    rating: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    cycle: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "employee": self.employee}
        if self.kind == "completion":
            out.update(module=self.module, score=self.score)
        elif self.kind == "rating":
            out.update(doc_id=self.doc_id, rating=self.rating)
        else:
            out["cycle"] = self.cycle
            if self.module is not None:
                out["module"] = self.module
            if self.score is not None:
                out["score"] = self.score
        out["created_at"] = self.created_at
        if self.details:
            out["details"] = self.details
        return out
