"""Metadata from front matter, notebook metadata, NOTE blocks and sidecars, normalised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml

from ingest.errors import UnreadableFile
from kb.types import DocumentMeta

KEYS = ("title", "team", "course", "module", "author", "date", "skills", "tags", "visibility")


def parse_yaml_mapping(text: str, where: str) -> dict[str, Any]:
    """A YAML mapping, or an UnreadableFile naming `where` and the line of the fault."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise UnreadableFile(f"{where} is not valid YAML{line}: fix or remove it") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UnreadableFile(f"{where} must be a mapping of keys to values (title: ..., team: ...)")
    return {str(key).lower(): value for key, value in data.items()}


def _as_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple | set):
        items = [str(part).strip() for part in value]
    elif isinstance(value, Mapping):  # skills given as {skill: level}
        items = [str(part).strip() for part in value]
    else:
        items = [str(value).strip()]
    return tuple(dict.fromkeys(item for item in items if item))


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers override earlier ones, key by key; empty values do not override."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value not in (None, "", [], ()):
                merged[key] = value
    return merged


def to_meta(raw: Mapping[str, Any], fallback_title: str) -> DocumentMeta:
    return DocumentMeta(
        title=_as_text(raw.get("title")) or fallback_title,
        team=_as_text(raw.get("team")),
        course=_as_text(raw.get("course")),
        module=_as_text(raw.get("module")),
        author=_as_text(raw.get("author")),
        date=_as_text(raw.get("date")),
        skills=_as_list(raw.get("skills")),
        tags=_as_list(raw.get("tags")),
        visibility=_as_list(raw.get("visibility")),
    )
