"""Reading a skills framework, all or nothing: every fault is collected (file and line) and
any fault imports nothing.

Two formats:

- `esco`: ESCO's published CSV download. FILE is `skills_en.csv` (or the folder holding it);
  beside it, every `skills_<lang>.csv` adds that language's labels (ESCO publishes 28
  languages; a `skills_zh.csv` of the same shape adds Chinese), `skillGroups_<lang>.csv` adds
  the groups, and `broaderRelationsSkillPillar.csv` the hierarchy. Ids are the concept URIs.
  Labels: `preferredLabel`, `altLabels` (one per line inside the field, as ESCO writes them).
- `csv`: the simple CSV: `id`, one `label_<lang>` column per language (at least one),
  optional `alt_<lang>` (alternative labels separated by `|`), `description`, `broader` and
  `narrower` (ids of this file separated by `|`; a narrower link is read as the other's
  broader) and `kind` (`skill`, the default, or `group`).

- `skos`: SKOS in RDF (Turtle, RDF/XML, N-Triples, JSON-LD; see `recommender.frameworks.skos`),
  such as ESCO's RDF download; `esco` given such a file reads it the same way.

Why all or nothing: a half-imported framework would leave mappings pointing at skills that
the organiser never saw; the previous framework stays in force until a clean one is read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recommender.errors import Fault
from recommender.frameworks.skos import RDF_SUFFIXES
from recommender.frameworks.types import (
    FORMATS,
    Concept,
    ConceptKind,
    Framework,
    FrameworkInvalidError,
)

# A framework file is bounded: ESCO's largest (skills_en.csv, ~14,000 skills) is ~15 MB.
MAX_FILE_BYTES = 100 * 1024 * 1024
ESCO_SKILL_TYPE = "KnowledgeSkillCompetence"
_ESCO_SKILLS = re.compile(r"^skills_([a-z]{2,3}(?:-[a-z0-9]+)?)\.csv$", re.IGNORECASE)
_ESCO_GROUPS = re.compile(r"^skillGroups_([a-z]{2,3}(?:-[a-z0-9]+)?)\.csv$", re.IGNORECASE)
_ESCO_BROADER = "broaderRelationsSkillPillar.csv"
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]+)?$")


@dataclass
class _Draft:
    kind: ConceptKind
    labels: dict[str, str] = field(default_factory=dict)
    alts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""
    broader: list[str] = field(default_factory=list)


class _Faults:
    def __init__(self) -> None:
        self.items: list[Fault] = []

    def add(self, file: Path | str, line: int, message: str) -> None:
        name = file.name if isinstance(file, Path) else file
        self.items.append(Fault(name, f"line {line}", message))


def _rows(path: Path, faults: _Faults) -> Iterator[tuple[int, dict[str, str]]]:
    """(line the record starts on, row) for each record; the header is checked by callers via
    `fieldnames`. Undecodable or malformed files become faults, not exceptions."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        faults.add(path, 0, f"cannot be read ({exc.strerror or exc})")
        return
    if size > MAX_FILE_BYTES:
        faults.add(path, 0, f"is {size // 1_048_576} MB; at most {MAX_FILE_BYTES // 1_048_576} MB")
        return
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        faults.add(path, line, "is not UTF-8 text: save it as UTF-8 and import again")
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    header: list[str] | None = None
    try:
        for record in reader:
            if header is None:
                header = [h.strip() for h in record]
                yield 1, {"\0header": "\0".join(header)}
            elif any(cell.strip() for cell in record):
                if len(record) > len(header):
                    faults.add(
                        path, start, f"has {len(record)} fields; the header has {len(header)}"
                    )
                else:
                    yield start, dict(zip(header, record, strict=False))
            start = reader.line_num + 1
    except csv.Error as exc:
        faults.add(path, start, f"is not valid CSV ({exc})")


def _header(row: dict[str, str]) -> list[str]:
    return row["\0header"].split("\0")


def _split_alts(value: str, separator: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for part in value.split(separator):
        part = part.strip()
        if part:
            seen[part] = None
    return tuple(seen)


# -- ESCO -------------------------------------------------------------------------------------


def _esco_folder(path: Path) -> tuple[Path, str]:
    """The folder and the base language file's language: FILE may be the folder itself."""
    if path.is_dir():
        return path, "en"
    match = _ESCO_SKILLS.match(path.name)
    return path.parent, (match.group(1).lower() if match else "en")


def read_esco(path: Path, languages: tuple[str, ...] = ()) -> Framework:
    """ESCO's CSV download at `path` (skills_<lang>.csv or its folder); `languages` limits the
    label files read (default: every skills_<lang>.csv beside it)."""
    faults = _Faults()
    folder, base_lang = _esco_folder(path)
    base = path if path.is_file() else folder / f"skills_{base_lang}.csv"
    if not base.is_file():
        raise FrameworkInvalidError(
            [Fault(base.name, "line 0", "not found: give ESCO's skills_en.csv or its folder")]
        )
    label_files: dict[str, Path] = {}
    group_files: dict[str, Path] = {}
    for child in sorted(folder.iterdir()):
        for pattern, found in ((_ESCO_SKILLS, label_files), (_ESCO_GROUPS, group_files)):
            match = pattern.match(child.name)
            if match and (not languages or match.group(1).lower() in languages):
                found[match.group(1).lower()] = child
    label_files.pop(base_lang, None)

    drafts: dict[str, _Draft] = {}
    _esco_labels(base, base_lang, drafts, faults, create="skill")
    for lang, file in group_files.items():
        _esco_labels(file, lang, drafts, faults, create="group" if lang == base_lang else None)
    for lang, file in label_files.items():
        _esco_labels(file, lang, drafts, faults, create=None)
    broader = folder / _ESCO_BROADER
    if broader.is_file():
        _esco_broader(broader, drafts, faults, has_groups=base_lang in group_files)
    if faults.items:
        raise FrameworkInvalidError(faults.items)
    return _framework("esco", "esco", str(base), drafts)


def _esco_labels(
    path: Path,
    lang: str,
    drafts: dict[str, _Draft],
    faults: _Faults,
    create: ConceptKind | None,
) -> None:
    """One skills_<lang>.csv or skillGroups_<lang>.csv: new concepts when `create` (the base
    language's files), else labels for concepts the base file made."""
    seen: set[str] = set()
    for line, row in _rows(path, faults):
        if line == 1 and "\0header" in row:
            missing = [c for c in ("conceptUri", "preferredLabel") if c not in _header(row)]
            if missing:
                faults.add(path, 1, f"lacks the column(s) {', '.join(missing)} of ESCO's CSV")
                return
            continue
        uri = (row.get("conceptUri") or "").strip()
        label = (row.get("preferredLabel") or "").strip()
        if not uri:
            faults.add(path, line, "has no conceptUri")
            continue
        if uri in seen:
            faults.add(path, line, f"repeats conceptUri {uri}")
            continue
        seen.add(uri)
        kind_value = (row.get("conceptType") or "").strip()
        if create == "skill" and kind_value and kind_value != ESCO_SKILL_TYPE:
            faults.add(
                path, line, f"conceptType is {kind_value!r}; skills files hold {ESCO_SKILL_TYPE}"
            )
            continue
        if not label:
            if create:
                faults.add(path, line, f"{uri} has no preferredLabel")
            continue  # another language may leave a label untranslated
        draft = drafts.get(uri)
        if create:
            if draft is not None:
                faults.add(path, line, f"{uri} is already a {draft.kind}")
                continue
            draft = drafts[uri] = _Draft(kind=create)
            draft.description = (row.get("description") or row.get("definition") or "").strip()
        elif draft is None:
            faults.add(
                path, line, f"{uri} is not in the {'English' if lang != 'en' else 'base'} file"
            )
            continue
        draft.labels[lang] = label
        alts = _split_alts(row.get("altLabels") or "", "\n")
        if alts:
            draft.alts[lang] = alts


def _esco_broader(path: Path, drafts: dict[str, _Draft], faults: _Faults, has_groups: bool) -> None:
    """broaderRelationsSkillPillar.csv: conceptUri's broader is broaderUri. A broader group
    missing from the concepts is kept by id when no skillGroups file was given."""
    for line, row in _rows(path, faults):
        if line == 1 and "\0header" in row:
            missing = [c for c in ("conceptUri", "broaderUri") if c not in _header(row)]
            if missing:
                faults.add(path, 1, f"lacks the column(s) {', '.join(missing)}")
                return
            continue
        uri, up = (row.get("conceptUri") or "").strip(), (row.get("broaderUri") or "").strip()
        if not uri or not up:
            faults.add(path, line, "needs both conceptUri and broaderUri")
            continue
        if uri not in drafts:
            if (row.get("conceptType") or ESCO_SKILL_TYPE) == ESCO_SKILL_TYPE:
                faults.add(path, line, f"{uri} is not a skill of skills_en.csv")
            continue  # a group's own place among groups: kept only when groups were read
        is_group = (row.get("broaderType") or "") == "SkillGroup"
        if up not in drafts and (has_groups or not is_group):
            faults.add(path, line, f"broader {up} is not in the framework")
            continue
        if up not in drafts[uri].broader:
            drafts[uri].broader.append(up)


# -- the simple CSV -----------------------------------------------------------------------------


def read_simple_csv(path: Path, name: str = "") -> Framework:
    """The simple CSV at `path` (see the module's docstring for its columns)."""
    faults = _Faults()
    drafts: dict[str, _Draft] = {}
    lines: dict[str, int] = {}
    wanted_broader: list[tuple[int, str, str, str]] = []  # line, concept, its broader, column
    label_langs: list[str] = []
    for line, row in _rows(path, faults):
        if line == 1 and "\0header" in row:
            header = _header(row)
            unknown = [
                c
                for c in header
                if c not in ("id", "kind", "description", "broader", "narrower")
                and not (re.match(r"^(label|alt)_(.+)$", c) and _LANG.match(c.split("_", 1)[1]))
            ]
            label_langs = [c.split("_", 1)[1] for c in header if c.startswith("label_")]
            if "id" not in header or not label_langs or unknown:
                problems = []
                if "id" not in header:
                    problems.append("an id column")
                if not label_langs:
                    problems.append("at least one label_<language> column (label_en, label_zh)")
                message = "needs " + " and ".join(problems) if problems else ""
                if unknown:
                    message += ("; " if message else "") + f"unknown column(s) {', '.join(unknown)}"
                faults.add(path, 1, message)
                break
            continue
        ident = (row.get("id") or "").strip()
        if not ident:
            faults.add(path, line, "has no id")
            continue
        if ident in drafts:
            faults.add(path, line, f"repeats id {ident} (first on line {lines[ident]})")
            continue
        kind = (row.get("kind") or "skill").strip().lower()
        if kind not in ("skill", "group"):
            faults.add(path, line, f"kind is {kind!r}; give skill or group")
            continue
        draft = _Draft(kind="skill" if kind == "skill" else "group")
        for lang in label_langs:
            label = (row.get(f"label_{lang}") or "").strip()
            if label:
                draft.labels[lang] = label
            alts = _split_alts(row.get(f"alt_{lang}") or "", "|")
            if alts:
                draft.alts[lang] = alts
        if not draft.labels:
            faults.add(path, line, f"{ident} has no label in any label_ column")
            continue
        draft.description = (row.get("description") or "").strip()
        for up in _split_alts(row.get("broader") or "", "|"):
            wanted_broader.append((line, ident, up, "broader"))
        for down in _split_alts(row.get("narrower") or "", "|"):  # the same link, read upwards
            wanted_broader.append((line, down, ident, "narrower"))
        drafts[ident], lines[ident] = draft, line
    for line, ident, up, column in wanted_broader:
        other, this = (up, ident) if column == "broader" else (ident, up)
        if other not in drafts:
            faults.add(path, line, f"{column} {other} of {this} is not an id of this file")
        elif up == ident:
            faults.add(path, line, f"{ident} cannot be {column} than itself")
        elif up not in drafts[ident].broader:
            drafts[ident].broader.append(up)
    if not faults.items and not drafts:
        faults.add(path, 2, "holds no skills")
    if faults.items:
        raise FrameworkInvalidError(faults.items)
    return _framework(name or path.stem, "csv", str(path), drafts)


def _framework(name: str, fmt: str, source: str, drafts: dict[str, _Draft]) -> Framework:
    concepts = tuple(
        Concept(
            id=ident,
            kind=d.kind,
            labels=d.labels,
            alt_labels=d.alts,
            description=d.description,
            broader=tuple(d.broader),
        )
        for ident, d in drafts.items()
    )
    return Framework(name=name, source=source, format=fmt, concepts=concepts)


def read_framework(
    path: Path, fmt: str, *, name: str = "", languages: tuple[str, ...] = ()
) -> Framework:
    """The framework at `path` in `fmt` (`esco`, `csv` or `skos`; `esco` given an RDF file,
    by its suffix, reads ESCO's SKOS download); raises `FrameworkInvalidError` with
    every fault, by file and line."""
    if fmt not in FORMATS:
        raise FrameworkInvalidError(
            [Fault(path.name, "line 0", f"unknown format {fmt!r}; give esco or csv")]
        )
    if fmt == "skos" or (fmt == "esco" and path.suffix.lower() in RDF_SUFFIXES):
        from recommender.frameworks.skos import read_skos

        return read_skos(path, name or ("esco" if fmt == "esco" else ""), languages)
    if fmt == "esco":
        framework = read_esco(path, languages)
        if name:
            framework = Framework(name, framework.source, framework.format, framework.concepts)
        return framework
    if not path.is_file():
        raise FrameworkInvalidError([Fault(path.name, "line 0", "not found")])
    return read_simple_csv(path, name)
