"""What every format parser returns: raw metadata, a title if the file has one, and chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.types import ChunkInput, DocType


@dataclass
class Parsed:
    type: DocType
    chunks: list[ChunkInput]
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
