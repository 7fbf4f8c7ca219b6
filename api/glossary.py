"""The organisers' glossary in a catalogue folder, as `kb catalog load` and `PUT /catalog` both
read it: DIR/glossary.yaml checked with the rest of the catalogue (its faults beside the
catalogue's, so that a faulty folder loads nothing), then stored for every process that
searches (kb.search.glossary.load_catalog_glossary: a catalogue replaces what it defines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kb.language.organisers import (
    GLOSSARY_FILE,
    GlossaryFault,
    GlossaryInvalidError,
    OrganiserGlossary,
    parse_glossary,
)
from kb.search.glossary import GlossaryEntry, StoreGlossary
from recommender import CatalogInvalidError, Fault, load_catalog_dir

GLOSSARY_NAMES = (GLOSSARY_FILE, GLOSSARY_FILE.removesuffix(".yaml") + ".yml")


def read_glossary_file(path: Path, loaded_from: str) -> OrganiserGlossary:
    """The checked glossary of `path`; `GlossaryInvalidError` (every fault) if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise GlossaryInvalidError(
            [GlossaryFault(path.name, None, "file", f"cannot be read ({reason})")]
        ) from None
    return parse_glossary(text, str(path.resolve()), loaded_from=loaded_from)


def catalog_glossary_path(directory: Path) -> Path | None:
    """DIR/glossary.yaml (or .yml), when the catalogue has one."""
    for name in GLOSSARY_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def as_catalog_faults(error: GlossaryInvalidError) -> list[Fault]:
    """The glossary's faults as catalogue faults (the line joins the entry)."""
    return [
        Fault(f.file, f.entry if f.line is None else f"{f.entry}, line {f.line}", f.message)
        for f in error.faults
    ]


def check_catalog_glossary(directory: Path) -> OrganiserGlossary | None:
    """DIR's glossary, checked (None when it has none). A faulty one raises
    `CatalogInvalidError` with its faults after the rest of the catalogue's, all at once."""
    path = catalog_glossary_path(directory)
    if path is None:
        return None
    try:
        return read_glossary_file(path, "catalog")
    except GlossaryInvalidError as glossary_faults:
        faults = as_catalog_faults(glossary_faults)
        try:
            load_catalog_dir(directory)
        except CatalogInvalidError as exc:
            faults = list(exc.faults) + faults
        raise CatalogInvalidError(faults) from None


def catalog_glossary_faults(directory: Path) -> list[Fault]:
    """The faults of DIR's glossary alone (none when it has none, or a good one)."""
    path = catalog_glossary_path(directory)
    if path is None:
        return []
    try:
        read_glossary_file(path, "catalog")
    except GlossaryInvalidError as exc:
        return as_catalog_faults(exc)
    return []


__all__ = [
    "GLOSSARY_NAMES",
    "as_catalog_faults",
    "catalog_glossary_faults",
    "catalog_glossary_path",
    "check_catalog_glossary",
    "read_glossary_file",
]


# -- what `kb glossary --json` and `GET /glossary` list ----------------------------------------
def summary(organisers: OrganiserGlossary) -> dict[str, Any]:
    """What `kb glossary load --json` and `kb glossary --json` report of a glossary."""
    return {
        "source": organisers.source,
        "loaded_from": organisers.loaded_from,
        "terms": len(organisers.terms),
        "blocked": len(organisers.blocked),
    }


def listed_entries(glossary: StoreGlossary, min_count: int = 1) -> list[GlossaryEntry]:
    """The organisers' pairs, then the mined ones found at least `min_count` times."""
    return [
        entry
        for entry in glossary.entries()
        if entry.source == "organisers" or entry.count >= min_count
    ]


def entry_json(entry: GlossaryEntry) -> dict[str, Any]:
    return {
        "chinese": entry.chinese,
        "english": entry.english,
        "count": entry.count,
        "sources": list(entry.sources),
        "source": entry.source,
        "used": entry.used,
        "because": entry.because,
    }


def glossary_listing(glossary: StoreGlossary, min_count: int = 1) -> dict[str, Any]:
    """`kb glossary --json`: the pairs, the organisers' glossary's summary, the blocked pairs."""
    organisers = glossary.organisers()
    return {
        "pairs": [entry_json(entry) for entry in listed_entries(glossary, min_count)],
        "organisers": None if organisers is None else summary(organisers),
        "blocked": [
            {"chinese": pair.chinese, "english": pair.english}
            for pair in (organisers.blocked if organisers is not None else ())
        ],
    }
