"""Reading a catalogue folder: the four YAML files (and `cycles.yaml`, when there is one),
loaded safely, validated, then built.

Separate from `catalog` (the types and how they are built) and `validate` (the rules), which
both stand below it, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kb.safe_yaml import YamlLimitError, load_yaml
from recommender.catalog.types import (
    CATALOG_FILES,
    CATALOG_MAX_CHARS,
    CATALOG_MAX_NODES,
    OPTIONAL_FILES,
    Catalog,
    RawCatalog,
    build_catalog,
)
from recommender.catalog.validate import validate_catalog
from recommender.errors import CatalogInvalidError, Fault


def read_catalog_dir(directory: Path) -> RawCatalog:
    """Raw YAML of the four files (and of the optional ones that exist), faults only for
    unreadable files (the rest is validation's)."""
    faults: list[Fault] = []
    raw: RawCatalog = {}
    if not directory.is_dir():
        raise CatalogInvalidError([Fault(str(directory), "folder", "not a directory")])
    for name in CATALOG_FILES + OPTIONAL_FILES:
        path = directory / f"{name}.yaml"
        if not path.exists():
            alt = directory / f"{name}.yml"
            path = alt if alt.exists() else path
        if not path.exists():
            if name not in OPTIONAL_FILES:
                faults.append(Fault(f"{name}.yaml", "file", "missing"))
            continue
        try:
            raw[name] = load_yaml(
                path.read_text(encoding="utf-8"),
                max_chars=CATALOG_MAX_CHARS,
                max_nodes=CATALOG_MAX_NODES,
            )
        except YamlLimitError as exc:
            faults.append(Fault(path.name, "file", f"refused: {exc}"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            detail = str(exc).replace("\n", " ")
            faults.append(Fault(path.name, "file", f"not valid YAML: {detail}"))
    if faults:
        raise CatalogInvalidError(faults)
    return raw


def load_catalog_dir(directory: Path) -> tuple[Catalog, RawCatalog]:
    """Read, validate (all faults at once) and build; raises `CatalogInvalidError` on any fault."""
    raw = read_catalog_dir(directory)
    faults = validate_catalog(raw)
    if faults:
        raise CatalogInvalidError(faults)
    return build_catalog(raw), raw
