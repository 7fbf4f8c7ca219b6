"""What every format parser returns: raw metadata, a title if the file has one, and chunks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kb.types import ChunkInput, DocType


@dataclass
class Parsed:
    """`meta` is what people wrote in the file (front matter, a NOTE block, notebook metadata)
    and overrides a sidecar; `properties` are the document properties a format carries (title,
    author, dates, keywords that an office suite or exporter filled in), which a sidecar
    overrides. `rechunk` cuts the same content to another budget without reading the file
    again (formats that are costly to read offer it)."""

    type: DocType
    chunks: list[ChunkInput]
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    rechunk: Callable[[int], list[ChunkInput]] | None = None
