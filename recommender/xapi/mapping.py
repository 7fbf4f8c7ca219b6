"""Who a statement's actor is and what its activity is, in the catalogue's terms.

An actor maps to an employee by the organisers' mapping file first (`actors:`: an mbox
`mailto:...`, an mbox_sha1sum, an openid, or an account as `homePage|name` or its bare
name), then by default: an account whose name is an employee id, or an mbox whose address, or
the part before its @, is an employee id. An activity maps by the file's `activities:` (the
activity id -> a module or course id, or `kind:id` for kind module, course, skill, cycle or
document), then by default by its path: `.../documents/{id}`, `.../skills/{id}`,
`.../cycles/{id}/sessions/{session}`, and otherwise its last path segment when that is a
module, course or cycle id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kb.safe_yaml import load_yaml
from recommender.catalog.types import Catalog
from recommender.errors import InvalidValueError
from recommender.xapi.statement import Activity, Agent
from recommender.xapi.vocabulary import path_segments

TargetKind = Literal["module", "course", "skill", "cycle", "session", "document"]
TARGET_KINDS = ("module", "course", "skill", "cycle", "document")


@dataclass(frozen=True)
class Target:
    """What an activity stands for; `cycle` is set for a session (and a cycle itself)."""

    kind: TargetKind
    id: str
    cycle: str | None = None


@dataclass(frozen=True)
class XapiMapping:
    """The organisers' mapping file: identifiers -> employee ids, activity ids -> targets."""

    actors: Mapping[str, str] = field(default_factory=dict)
    activities: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, name: str = "mapping") -> XapiMapping:
        """Read a mapping file (YAML or JSON) with `actors:` and/or `activities:` tables."""
        try:
            data = json.loads(text) if text.lstrip().startswith("{") else load_yaml(text)
        except Exception as exc:  # YAML and JSON errors alike: the file is unreadable
            raise InvalidValueError(f"{name}: not readable as YAML or JSON: {exc}") from None
        data = data or {}
        if not isinstance(data, dict) or set(data) - {"actors", "activities"}:
            raise InvalidValueError(
                f"{name}: a mapping file holds `actors:` and `activities:` tables only"
            )
        tables: dict[str, dict[str, str]] = {}
        for key in ("actors", "activities"):
            table = data.get(key) or {}
            if not isinstance(table, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in table.items()
            ):
                raise InvalidValueError(f"{name}: `{key}:` maps strings to strings")
            tables[key] = table
        return cls(tables["actors"], tables["activities"])

    @classmethod
    def from_file(cls, path: Path) -> XapiMapping:
        return cls.from_text(path.read_text(encoding="utf-8"), path.name)

    def employee(self, actor: Agent, catalog: Catalog) -> str | None:
        """The employee id `actor` stands for, or None."""
        keys: list[str] = []
        if actor.mbox:
            keys.append(actor.mbox)
        if actor.mbox_sha1sum:
            keys.append(actor.mbox_sha1sum.lower())
        if actor.openid:
            keys.append(actor.openid)
        if actor.account:
            keys += [f"{actor.account.homePage}|{actor.account.name}", actor.account.name]
        for key in keys:
            if key in self.actors:
                return self.actors[key]
        if actor.account and actor.account.name in catalog.employees:
            return actor.account.name
        if actor.mbox:
            address = actor.mbox.removeprefix("mailto:")
            for candidate in (address, address.split("@")[0]):
                if candidate in catalog.employees:
                    return candidate
        return None

    def target(self, activity: Activity, catalog: Catalog) -> Target | None:
        """What `activity` stands for in the catalogue, or None."""
        mapped = self.activities.get(activity.id)
        if mapped is not None:
            kind, _, ident = mapped.partition(":")
            if ident and kind in TARGET_KINDS:
                return Target(kind, ident, ident if kind == "cycle" else None)  # type: ignore[arg-type]
            return _catalogue_target(mapped, catalog)
        parts = path_segments(activity.id)
        if len(parts) >= 2 and parts[-2] == "documents":
            return Target("document", parts[-1])
        if len(parts) >= 2 and parts[-2] == "skills" and parts[-1] in catalog.skills:
            return Target("skill", parts[-1])
        if len(parts) >= 4 and parts[-2] == "sessions" and parts[-4] == "cycles":
            return Target("session", parts[-1], parts[-3])
        return _catalogue_target(parts[-1], catalog) if parts else None


def _catalogue_target(ident: str, catalog: Catalog) -> Target | None:
    if ident in catalog.modules:
        return Target("module", ident)
    if ident in catalog.courses:
        return Target("course", ident)
    if ident in catalog.cycles:
        return Target("cycle", ident, ident)
    return None


def mapping_summary(mapping: XapiMapping) -> dict[str, Any]:
    return {"actors": len(mapping.actors), "activities": len(mapping.activities)}
