"""The organisers' glossary: the term pairs the programme's organisers write by hand
(`glossary.yaml` in the catalogue), which win over the pairs mined from the material
(kb.language.mining) and over the dictionary (kb.language.bilingual) when a query crosses
languages.

```yaml
terms:                  # a term they define is translated with these names alone
  - zh: 过拟合
    en: [overfitting, over-fitting]
block:                  # pairs the miner or the dictionary got wrong: never used
  - zh: 网络
    en: VGG
```

`parse_glossary(text, file)` reads and checks the file strictly, since a typo here silently
changes what every search finds: every fault is reported at once (`GlossaryInvalidError`),
each naming the file, the line, the entry and what to write instead, and a faulty file gives
no glossary at all. The checked glossary is kept in the store as JSON (`to_json`,
`from_json`), so that every replica of the service uses the same one.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from kb.errors import KBError
from kb.language.terms import HAN, fold
from kb.safe_yaml import YamlLimitError, load_yaml

GLOSSARY_FILE = "glossary.yaml"
GLOSSARY_MAX_CHARS = 500_000  # thousands of terms; a glossary is written by hand
FORMAT = 1  # of the stored JSON
SECTIONS = ("terms", "block")
ENTRY_FIELDS = ("zh", "en")
_HAN = re.compile(f"[{HAN}]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class OrganiserTerm:
    """A Chinese term and the English names the organisers give it (as they wrote them)."""

    chinese: str
    english: tuple[str, ...]


@dataclass(frozen=True)
class BlockedPair:
    """A Chinese term and one English name that must never stand for each other."""

    chinese: str
    english: str


@dataclass(frozen=True)
class GlossaryFault:
    """One fault of a glossary file, with where it is and what to change."""

    file: str
    line: int | None
    entry: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return f"{where}: {self.entry}: {self.message}"


class GlossaryInvalidError(KBError):
    """A glossary file with faults; carries all of them, and nothing of it is used."""

    def __init__(self, faults: list[GlossaryFault]) -> None:
        self.faults = tuple(faults)
        lines = [f"the glossary has {len(faults)} fault(s); nothing was loaded:"]
        lines += [f"  - {fault}" for fault in faults]
        super().__init__("\n".join(lines))


def _key(chinese: str, english: str) -> tuple[str, str]:
    """How pairs are compared: the Chinese folded (traditional = simplified), the English
    without regard to case."""
    return fold(chinese), english.lower()


@dataclass(frozen=True)
class OrganiserGlossary:
    """The organisers' terms and blocked pairs, and where they were loaded from: `source`
    (the file) and `loaded_from` ("catalog" when `kb catalog load` stored it, "file" for
    `kb glossary load`), which decides whether a later catalogue without a glossary
    removes it (docs/chinese.md)."""

    terms: tuple[OrganiserTerm, ...] = ()
    blocked: tuple[BlockedPair, ...] = ()
    source: str = ""
    loaded_from: str = "file"
    _english: dict[str, list[str]] = field(init=False, repr=False, compare=False)
    _chinese: dict[str, list[str]] = field(init=False, repr=False, compare=False)
    _blocked: frozenset[tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        english: dict[str, list[str]] = defaultdict(list)
        chinese: dict[str, list[str]] = defaultdict(list)
        for term in self.terms:
            folded = fold(term.chinese)
            for name in term.english:
                english[folded].append(name.lower())
                chinese[name.lower()].append(folded)
        object.__setattr__(self, "_english", dict(english))
        object.__setattr__(self, "_chinese", dict(chinese))
        blocked = frozenset(_key(pair.chinese, pair.english) for pair in self.blocked)
        object.__setattr__(self, "_blocked", blocked)

    def __len__(self) -> int:
        return len(self.terms)

    def defines(self, chinese: str, english: str) -> bool:
        """Whether the organisers gave either side of this pair its own translations (then
        only theirs are used for it)."""
        zh, en = _key(chinese, english)
        return zh in self._english or en in self._chinese

    def has(self, chinese: str, english: str) -> bool:
        """Whether this very pair is one of the organisers' terms."""
        zh, en = _key(chinese, english)
        return en in self._english.get(zh, ())

    def blocks(self, chinese: str, english: str) -> bool:
        """Whether this pair is blocked (the English compared without regard to case)."""
        return _key(chinese, english) in self._blocked

    def blocked_english(self, chinese: str) -> set[str]:
        """The English names blocked for a (folded) Chinese word, lower case."""
        return {en for zh, en in self._blocked if zh == chinese}

    def english_in(self, query: str) -> tuple[list[str], str]:
        """English for the organisers' Chinese terms inside a Chinese query, longest first,
        and the (folded) query with those terms taken out."""
        found: list[str] = []
        rest = fold(query)
        for term in sorted(self._english, key=len, reverse=True):
            if term in rest:
                found += self._english[term]
                rest = rest.replace(term, " ")
        return found, rest

    def chinese_in(self, query: str) -> tuple[list[str], str]:
        """Chinese for the organisers' English names inside an English query (whole words,
        case and a plural -s aside), longest first, and the query with them taken out."""
        found: list[str] = []
        rest = query
        for name in sorted(self._chinese, key=len, reverse=True):
            pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}s?(?![A-Za-z0-9])", re.I)
            if pattern.search(rest):
                found += self._chinese[name]
                rest = pattern.sub(" ", rest)
        return found, rest

    # -- kept in the store ----------------------------------------------------------------
    def to_json(self) -> str:
        """The glossary as the store keeps it (the same fields as the file, and its origin)."""
        return json.dumps(
            {
                "format": FORMAT,
                "source": self.source,
                "loaded_from": self.loaded_from,
                "terms": [{"zh": t.chinese, "en": list(t.english)} for t in self.terms],
                "block": [{"zh": b.chinese, "en": b.english} for b in self.blocked],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> OrganiserGlossary:
        """The stored glossary, checked as a file is (`GlossaryInvalidError` if it is not one:
        then `kb glossary clear` and load it again)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GlossaryInvalidError(
                [GlossaryFault("stored glossary", None, "file", f"not JSON: {exc}")]
            ) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise GlossaryInvalidError(
                [
                    GlossaryFault(
                        "stored glossary",
                        None,
                        "file",
                        f"format {found!r}, this version reads {FORMAT}: load the file again",
                    )
                ]
            )
        source, loaded_from = str(data.get("source", "")), str(data.get("loaded_from", "file"))
        sections = {name: data.get(name, []) for name in SECTIONS}
        return _Checker("stored glossary", None).glossary(sections, source, loaded_from)


# -- reading and checking a file -------------------------------------------------------------


class _Lines:
    """Where each entry and field of the file stands (its YAML nodes' marks), 1-based."""

    def __init__(self, text: str) -> None:
        self.root: yaml.Node | None = None
        try:
            # safe: `load_yaml` already read this text within its limits, and composing
            # builds no objects and expands no aliases
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    @staticmethod
    def _value(node: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    return key_node, value
        return None

    def of(self, section: str | None, index: int | None = None, name: str | None = None) -> int:
        """The line of the top-level `section`, of its entry `index` (0-based), or of that
        entry's field `name`: the nearest of those found (1 when none is)."""
        line = 1
        if section is None or self.root is None:
            return line
        found = self._value(self.root, section)
        if found is None:
            return line
        key_node, node = found
        line = key_node.start_mark.line + 1
        if index is None or not isinstance(node, yaml.SequenceNode):
            return line
        if index >= len(node.value):
            return line
        entry = node.value[index]
        line = entry.start_mark.line + 1
        if name is not None and (pair := self._value(entry, name)) is not None:
            line = pair[0].start_mark.line + 1
        return line


@dataclass
class _Checker:
    file: str
    lines: _Lines | None
    faults: list[GlossaryFault] = field(default_factory=list)

    def fault(self, entry: str, message: str, *where: Any) -> None:  # where: section, index, field
        line = self.lines.of(*where) if self.lines is not None and where else None
        self.faults.append(GlossaryFault(self.file, line, entry, message))

    def glossary(self, data: Mapping[str, Any], source: str, loaded_from: str) -> OrganiserGlossary:
        for name in sorted(str(k) for k in data if k not in SECTIONS):
            close = difflib.get_close_matches(name, SECTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.fault("file", f"unknown key '{name}'{hint}: a glossary has terms and block", name)
        terms = [
            (index, OrganiserTerm(zh, tuple(names)))
            for index, zh, names in self.entries(data.get("terms"), "terms")
        ]
        blocked = [
            (index, BlockedPair(zh, name))
            for index, zh, names in self.entries(data.get("block"), "block")
            for name in names
        ]
        self.consistent(terms, blocked)
        if self.faults:
            raise GlossaryInvalidError(self.faults)
        return OrganiserGlossary(
            tuple(t for _, t in terms), tuple(b for _, b in blocked), source, loaded_from
        )

    def entries(self, value: Any, section: str) -> list[tuple[int, str, list[str]]]:
        """(index, Chinese, English names) of a section's well-formed entries; faults for the
        rest."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.fault(
                section,
                f"must be a list of entries (- zh: ..., en: ...), found {_kind(value)}",
                section,
            )
            return []
        out = []
        for index, entry in enumerate(value):
            label = f"{section} entry #{index + 1}"
            if isinstance(entry, dict) and isinstance(entry.get("zh"), str):
                label += f" (zh '{entry['zh'].strip()}')"
            where = (section, index)
            if not isinstance(entry, dict):
                self.fault(label, f"must be a mapping with zh and en, found {_kind(entry)}", *where)
                continue
            ok = True
            for name in sorted(str(k) for k in entry if k not in ENTRY_FIELDS):
                close = difflib.get_close_matches(name, ENTRY_FIELDS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fault(
                    label, f"unknown field '{name}'{hint}: an entry has zh and en", *where, name
                )
                ok = False
            for name in ENTRY_FIELDS:
                if name not in entry:
                    self.fault(label, f"missing field '{name}'", *where)
                    ok = False
            chinese = (
                self.chinese(label, entry.get("zh"), (*where, "zh")) if "zh" in entry else None
            )
            names = self.english(label, entry.get("en"), (*where, "en")) if "en" in entry else None
            if ok and chinese is not None and names is not None:
                out.append((index, chinese, names))
        return out

    def chinese(self, label: str, value: Any, where: tuple[Any, ...]) -> str | None:
        if not isinstance(value, str) or not value.strip():
            found = "an empty string" if isinstance(value, str) else _kind(value)
            self.fault(label, f"'zh' must be the Chinese term, found {found}", *where)
            return None
        text = value.strip()
        if not _HAN.search(text):
            self.fault(
                label,
                f"'zh' has no Chinese characters ('{text}'): write the Chinese term under zh "
                "and its English under en",
                *where,
            )
            return None
        return text

    def english(self, label: str, value: Any, where: tuple[Any, ...]) -> list[str] | None:
        values = value if isinstance(value, list) else [value]
        if not values:
            self.fault(label, "'en' is an empty list: give at least one English name", *where)
            return None
        names: list[str] = []
        for item in values:
            if not isinstance(item, str) or not item.strip():
                found = "an empty string" if isinstance(item, str) else _kind(item)
                self.fault(
                    label,
                    f"'en' must be an English name or a list of them, found {found}"
                    + (" (quote it)" if isinstance(item, bool | int | float) else ""),
                    *where,
                )
                return None
            name = " ".join(item.split())
            if _HAN.search(name) or not _LATIN.search(name):
                self.fault(
                    label,
                    f"'en' must be English ('{name}'): put the Chinese under zh",
                    *where,
                )
                return None
            if name.lower() not in {n.lower() for n in names}:
                names.append(name)
        return names

    def consistent(
        self, terms: list[tuple[int, OrganiserTerm]], blocked: list[tuple[int, BlockedPair]]
    ) -> None:
        """No Chinese term defined twice, and no pair both defined and blocked (indices: the
        entries' places in the file)."""
        first: dict[str, int] = {}
        for index, term in terms:
            folded = fold(term.chinese)
            if folded in first:
                self.fault(
                    f"terms entry #{index + 1} (zh '{term.chinese}')",
                    f"'{term.chinese}' is already defined by terms entry #{first[folded] + 1}: "
                    "merge their en lists into one entry",
                    "terms",
                    index,
                )
            else:
                first[folded] = index
        defined = {_key(t.chinese, name) for _, t in terms for name in t.english}
        for index, pair in blocked:
            if _key(pair.chinese, pair.english) in defined:
                self.fault(
                    f"block entry #{index + 1} (zh '{pair.chinese}')",
                    f"'{pair.chinese}' = '{pair.english}' is also under terms: remove it from "
                    "one of the two",
                    "block",
                    index,
                )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    kinds = {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}
    kinds |= {int: "a number", float: "a number"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def parse_glossary(text: str, file: str, *, loaded_from: str = "file") -> OrganiserGlossary:
    """The glossary in `text` (the contents of `file`, which faults name), checked; raises
    `GlossaryInvalidError` with every fault. `loaded_from`: "catalog" or "file"."""
    where = file.rsplit("/", 1)[-1]
    try:
        data = load_yaml(text, max_chars=GLOSSARY_MAX_CHARS)
    except YamlLimitError as exc:
        raise GlossaryInvalidError(
            [GlossaryFault(where, None, "file", f"refused: {exc}")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        detail = str(getattr(exc, "problem", None) or exc).replace("\n", " ")
        raise GlossaryInvalidError(
            [GlossaryFault(where, line, "file", f"not valid YAML: {detail}")]
        ) from None
    checker = _Checker(where, _Lines(text))
    if data is None:
        checker.fault("file", "is empty: list terms (and block), or delete the file")
        raise GlossaryInvalidError(checker.faults)
    if not isinstance(data, dict):
        checker.fault(
            "file", f"must be a mapping with terms and/or block, found {_kind(data)}", None
        )
        raise GlossaryInvalidError(checker.faults)
    return checker.glossary(data, file, loaded_from)


__all__ = [
    "GLOSSARY_FILE",
    "BlockedPair",
    "GlossaryFault",
    "GlossaryInvalidError",
    "OrganiserGlossary",
    "OrganiserTerm",
    "parse_glossary",
]
