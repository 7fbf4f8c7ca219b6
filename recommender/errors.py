"""Errors the recommender raises; the CLI and HTTP layers map every one to a user-facing message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# A catalogue of thousands of bad entries is reported by its first faults and a count: the
# organiser fixes the pattern, and the answer stays small.
FAULTS_SHOWN = 200


@dataclass(frozen=True)
class Fault:
    """One catalogue fault, naming the file and the entry so that it can be fixed by hand."""

    file: str
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "entry": self.entry, "message": self.message}


class RecommenderError(Exception):
    """Base class: a sentence meant for the user (bad input, unknown id), never a bug."""


class UnknownIdError(RecommenderError):
    """An employee, module, team, skill or document id that the catalogue or kb does not know."""

    def __init__(self, kind: str, ident: str, hint: str = "") -> None:
        self.kind = kind
        self.ident = ident
        message = f"unknown {kind} '{ident}'"
        super().__init__(f"{message}; {hint}" if hint else message)


class InvalidValueError(RecommenderError):
    """A value out of its allowed range (rating outside 1..5, score outside 0..1, hours <= 0)."""


class NoCatalogError(RecommenderError):
    """Asked a question before any catalogue was loaded into the store."""

    def __init__(self) -> None:
        super().__init__("no catalogue loaded yet: run `kb catalog load DIR` first")


class CatalogInvalidError(RecommenderError):
    """A catalogue with faults; carries all of them so that organisers can fix them in one pass."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self.total = len(faults)
        self.faults = tuple(faults[:FAULTS_SHOWN])
        lines = [f"catalogue has {self.total} fault(s); nothing was loaded:"]
        lines += [f"  - {fault}" for fault in self.faults]
        if self.total > len(self.faults):
            lines.append(f"  ... and {self.total - len(self.faults)} more like these")
        super().__init__("\n".join(lines))
