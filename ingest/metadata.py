"""Metadata from front matter, notebook metadata, NOTE blocks, sidecars and the document
properties of office files, PDFs and web pages, normalised."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import yaml

from ingest.errors import UnreadableFile
from kb.freshness import day_of
from kb.safe_yaml import YamlLimitError, load_yaml
from kb.types import DocumentMeta

KEYS = (
    "title",
    "team",
    "course",
    "module",
    "author",
    "date",
    "skills",
    "tags",
    "visibility",
    "review_by",
    "owner",
    "session",
)
MAX_TITLE_CHARS = 300
MAX_SCALAR_CHARS = 200
MAX_ITEM_CHARS = 100
MAX_ITEMS = 50


def parse_yaml_mapping(text: str, where: str) -> dict[str, Any]:
    """A YAML mapping, or an UnreadableFile naming `where` and the line of the fault."""
    try:
        data = load_yaml(text) if text.strip() else {}
    except YamlLimitError as exc:
        raise UnreadableFile(f"{where} was refused: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        detail = f" ({problem.splitlines()[0]})" if problem else ""
        raise UnreadableFile(f"{where} is not valid YAML{line}{detail}: fix or remove it") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UnreadableFile(f"{where} must be a mapping of keys to values (title: ..., team: ...)")
    return {str(key).lower(): value for key, value in data.items()}


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | dt.date)  # bool is an int; datetime a date


def _scalar_text(key: str, value: Any) -> str:
    if not _is_scalar(value):
        raise UnreadableFile(
            f"metadata '{key}' must be a single value (text, number or date), "
            f"not a {_kind(value)}: fix it in the front matter or sidecar"
        )
    if isinstance(value, dt.date):  # dt.datetime too
        return value.isoformat()
    return str(value).strip()


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple | set):
        return "list"
    return type(value).__name__


def _as_list(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple | set | Mapping):  # skills may be {skill: level}
        items = [_item_text(key, part) for part in value]
    else:
        items = [_scalar_text(key, value)]
    kept = tuple(dict.fromkeys(item for item in items if item))
    if len(kept) > MAX_ITEMS:
        raise UnreadableFile(
            f"metadata '{key}' has {len(kept)} items, at most {MAX_ITEMS} are allowed: "
            "keep the ones that matter"
        )
    for item in kept:
        if len(item) > MAX_ITEM_CHARS:
            raise UnreadableFile(
                f"metadata '{key}' has an item of {len(item)} characters "
                f"({item[:40]!r}...), at most {MAX_ITEM_CHARS} are allowed: shorten it"
            )
    return kept


def _item_text(key: str, value: Any) -> str:
    if value is None:  # an empty `- ` entry
        return ""
    if not _is_scalar(value):
        raise UnreadableFile(
            f"metadata '{key}' must be a list of single values (or a comma-separated text), "
            f"but holds a {_kind(value)}: flatten it in the front matter or sidecar"
        )
    return _scalar_text(key, value)


def _as_text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    text = _scalar_text(key, value)
    limit = MAX_TITLE_CHARS if key == "title" else MAX_SCALAR_CHARS
    if len(text) > limit:
        raise UnreadableFile(
            f"metadata '{key}' is {len(text):,} characters long, at most {limit} are "
            "allowed: shorten it"
        )
    return text or None


def _as_day(key: str, value: Any) -> str | None:
    """A date that freshness is judged on (`review_by`): a day, written YYYY-MM-DD, or an
    UnreadableFile that says so. (`date` stays free text, as it always was: one that is not a
    day makes the document stale by nothing.)"""
    text = _as_text(key, value)
    if text is None:
        return None
    day = day_of(text)
    if day is None or not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        raise UnreadableFile(
            f"metadata '{key}' must be a day written YYYY-MM-DD (2025-06-30), not {text[:40]!r}: "
            "fix it in the front matter or sidecar"
        )
    return day.isoformat()


def merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers override earlier ones, key by key; empty values do not override."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value not in (None, "", [], ()):
                merged[key] = value
    return merged


def to_meta(raw: Mapping[str, Any], fallback_title: str) -> DocumentMeta:
    """Validated, normalised metadata; an UnreadableFile naming the key for a value of the
    wrong type (a list as title, a mapping among tags), too long, or a list too long."""
    return DocumentMeta(
        title=_as_text("title", raw.get("title")) or fallback_title,
        team=_as_text("team", raw.get("team")),
        course=_as_text("course", raw.get("course")),
        module=_as_text("module", raw.get("module")),
        author=_as_text("author", raw.get("author")),
        date=_as_text("date", raw.get("date")),
        skills=_as_list("skills", raw.get("skills")),
        tags=_as_list("tags", raw.get("tags")),
        visibility=_as_list("visibility", raw.get("visibility")),
        review_by=_as_day("review_by", raw.get("review_by")),
        owner=_as_text("owner", raw.get("owner")),
        session=_as_text("session", raw.get("session")),
    )


# What office suites, exporters and libraries write when nobody gave a value: not a title or
# an author worth showing (a sidecar or the file's name does better).
_PLACEHOLDER_TITLES = frozenset(
    {"powerpoint presentation", "presentation", "document", "untitled", "slide 1", "title"}
)
_PLACEHOLDER_AUTHORS = frozenset(
    {"python-docx", "python-pptx", "microsoft office user", "author", "user", "unknown"}
)
_FILE_NAME_TITLE = re.compile(
    r"^microsoft (word|powerpoint) - |\.(docx?|pptx?|pdf|tex|dvi|txt|md|html?)$", re.IGNORECASE
)
_KEYWORD_SEPARATORS = re.compile(r"[,;，；、]")


def document_properties(
    *,
    title: object = None,
    author: object = None,
    created: object = None,
    keywords: object = None,
) -> dict[str, Any]:
    """The metadata fields that a format's document properties fill (title, author, date,
    tags from keywords), as front matter would. Placeholders that tools write ("PowerPoint
    Presentation", "Microsoft Word - notes.docx") are left out, and values are trimmed to the
    limits of `to_meta`: properties written by a tool never make a file fail."""
    out: dict[str, Any] = {}
    if isinstance(title, str):
        text = " ".join(title.split())
        if text and text.lower() not in _PLACEHOLDER_TITLES and not _FILE_NAME_TITLE.search(text):
            out["title"] = text[:MAX_TITLE_CHARS]
    if isinstance(author, str):
        text = " ".join(author.split())
        if text and text.lower() not in _PLACEHOLDER_AUTHORS:
            out["author"] = text[:MAX_SCALAR_CHARS]
    if isinstance(created, dt.datetime):
        out["date"] = created.date().isoformat()
    elif isinstance(created, dt.date):
        out["date"] = created.isoformat()
    elif isinstance(created, str) and re.match(r"^\d{4}-\d{2}-\d{2}", created.strip()):
        out["date"] = created.strip()[:10]
    if isinstance(keywords, str):
        words = [" ".join(w.split()) for w in _KEYWORD_SEPARATORS.split(keywords)]
        tags = [w for w in dict.fromkeys(words) if w and len(w) <= MAX_ITEM_CHARS]
        if tags:
            out["tags"] = tags[:MAX_ITEMS]
    return out
