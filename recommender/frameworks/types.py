"""A skills framework as typed values: its concepts (skills and the groups above them), the
mapping proposals the matcher makes, and the organisers' decisions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from recommender.errors import CatalogInvalidError, Fault

ConceptKind = Literal["skill", "group"]
FORMATS = ("esco", "csv", "skos")
Status = Literal["approved", "rejected"]


@dataclass(frozen=True)
class Concept:
    """One concept of the framework, with its id (an ESCO URI, or the CSV's id) kept as given.

    `labels` and `alt_labels` are keyed by language code ("en", "zh", ...); `broader` holds the
    ids of the concepts directly above it (skills or groups)."""

    id: str
    kind: ConceptKind
    labels: Mapping[str, str]
    alt_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""
    broader: tuple[str, ...] = ()

    def label(self, language: str = "en") -> str:
        """The preferred label in `language`, else English, else any."""
        return (
            self.labels.get(language) or self.labels.get("en") or next(iter(self.labels.values()))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "labels": dict(self.labels),
            "alt_labels": {lang: list(alts) for lang, alts in self.alt_labels.items()},
            "description": self.description,
            "broader": list(self.broader),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Concept:
        return cls(
            id=data["id"],
            kind=data["kind"],
            labels=dict(data["labels"]),
            alt_labels={lang: tuple(alts) for lang, alts in data["alt_labels"].items()},
            description=data["description"],
            broader=tuple(data["broader"]),
        )


@dataclass(frozen=True)
class Framework:
    """A whole framework: its name (`--name`, or the format's), where it was read from, and its
    concepts in file order."""

    name: str
    source: str
    format: str
    concepts: tuple[Concept, ...]

    def concept(self, ident: str) -> Concept | None:
        for concept in self.concepts:
            if concept.id == ident:
                return concept
        return None

    @property
    def skills(self) -> tuple[Concept, ...]:
        return tuple(c for c in self.concepts if c.kind == "skill")

    @property
    def languages(self) -> list[str]:
        return sorted({lang for c in self.concepts for lang in c.labels})

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "format": self.format,
            "skills": len(self.skills),
            "groups": len(self.concepts) - len(self.skills),
            "languages": self.languages,
        }


@dataclass(frozen=True)
class Candidate:
    """One framework skill proposed for a catalogue skill: the combined score (0..1, what the
    candidates are ordered by) and the two it comes from, and the label that matched best."""

    framework_id: str
    score: float
    label_score: float
    embedding_score: float
    matched: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework_id": self.framework_id,
            "score": round(self.score, 4),
            "label_score": round(self.label_score, 4),
            "embedding_score": round(self.embedding_score, 4),
            "matched": self.matched,
        }


@dataclass(frozen=True)
class Proposal:
    """The best few candidates for one catalogue skill, best first."""

    skill: str
    candidates: tuple[Candidate, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "candidates": [c.to_dict() for c in self.candidates]}


@dataclass(frozen=True)
class Decision:
    """An organiser's decision on one catalogue skill: approved (to `framework_id`, the
    proposal's first candidate or another) or rejected (no framework skill fits)."""

    skill: str
    status: Status
    framework_id: str | None
    decided_at: str
    by: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "status": self.status,
            "framework_id": self.framework_id,
            "decided_at": self.decided_at,
            "by": self.by,
        }


class FrameworkInvalidError(CatalogInvalidError):
    """A framework file with faults (each naming its file and line); nothing was imported."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        super().__init__(faults)
        lines = [f"framework has {self.total} fault(s); nothing was imported:"]
        lines += [f"  - {fault}" for fault in self.faults]
        if self.total > len(self.faults):
            lines.append(f"  ... and {self.total - len(self.faults)} more like these")
        self.args = ("\n".join(lines),)

    def __str__(self) -> str:
        return str(self.args[0])
