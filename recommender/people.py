"""One person in the recommender's state: what the catalogue and the events hold about them,
and the same state with them taken out (the GDPR requests of `kb person`, docs/person-data.md).

Pure functions over the raw catalogue (`RawCatalog`, as stored) and events: `api.person`
reads them from the store, calls these, and writes the result back through the store's
contract (`save_catalog`, `rewrite_events`), so both backends erase alike.

A person is named in the catalogue by their employee entry (id, name, levels, completed
modules, targets) and by reference: a cycle's `participants` and `trainers`, any other list
or value that holds their id. Taking them out removes the entry and every reference; a list
left empty by it is dropped (an empty `participants` would fail validation; a cycle without
the key is still valid), so the catalogue still loads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recommender.catalog.types import RawCatalog
from recommender.state.events import Event


@dataclass(frozen=True)
class PersonTerms:
    """What identifies a person in stored text: the employee id, and the name and e-mail
    address where the catalogue gives them. Matched whole and case-insensitively."""

    employee: str
    name: str | None = None
    email: str | None = None

    def all(self) -> tuple[str, ...]:
        return tuple(t for t in (self.employee, self.name, self.email) if t)

    def matches(self, value: Any) -> bool:
        """Whether `value` (text) is one of the terms, ignoring case and outer spaces."""
        if not isinstance(value, str):
            return False
        folded = value.strip().casefold()
        return any(folded == term.casefold() for term in self.all())

    def mentioned_in(self, text: str | None) -> bool:
        """Whether `text` contains one of the terms as whole words (ignoring case): a search
        naming them, an author "Liam Chen <liam.chen@example.com>"; "Ann" is not in
        "Joanna"."""
        if not text:
            return False
        folded = text.casefold()
        return any(
            re.search(rf"(?<!\w){re.escape(term.casefold())}(?!\w)", folded) for term in self.all()
        )


def employee_entry(raw: RawCatalog | None, employee: str) -> dict[str, Any] | None:
    """The catalogue's entry for `employee` as stored, or None."""
    for entry in (raw or {}).get("employees") or []:
        if entry.get("id") == employee:
            return dict(entry)
    return None


def terms_for(raw: RawCatalog | None, employee: str) -> PersonTerms:
    """The person's id, with the name and e-mail of their catalogue entry when it has them."""
    entry = employee_entry(raw, employee) or {}
    name, email = entry.get("name"), entry.get("email")
    return PersonTerms(
        employee,
        name if isinstance(name, str) and name.strip() else None,
        email if isinstance(email, str) and email.strip() else None,
    )


def _mentions(value: Any, terms: PersonTerms) -> bool:
    if isinstance(value, Mapping):
        return any(_mentions(v, terms) or terms.matches(k) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentions(v, terms) for v in value)
    return terms.matches(value)


def _without(value: Any, terms: PersonTerms) -> Any:
    """`value` with every list item and mapping value naming the person dropped; a list or
    mapping left empty by that is dropped too (returned as None), one that was empty kept."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if terms.matches(key) or terms.matches(item):
                continue
            kept = _without(item, terms)
            if kept is None and item is not None:
                continue
            out[key] = kept
        return out if out or not value else None
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if terms.matches(item):
                continue
            kept = _without(item, terms)
            if kept is None and item is not None:
                continue
            items.append(kept)
        return items if items or not value else None
    return value


def catalog_mentions(raw: RawCatalog | None, terms: PersonTerms) -> dict[str, list[dict[str, Any]]]:
    """Per catalogue kind, the entries that name the person (their own entry among them)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for kind, entries in (raw or {}).items():
        hits = [dict(e) for e in entries or [] if _mentions(e, terms)]
        if hits:
            found[kind] = hits
    return found


def catalog_without(raw: RawCatalog, terms: PersonTerms) -> tuple[RawCatalog, int]:
    """The catalogue without the person: their employee entry removed and every reference to
    them taken out of the other entries; and how many entries changed or went."""
    out: RawCatalog = {}
    changed = 0
    for kind, entries in raw.items():
        kept = []
        for entry in entries or []:
            if kind == "employees" and terms.matches(entry.get("id")):
                changed += 1
                continue
            if _mentions(entry, terms):
                changed += 1
                entry = _without(entry, terms) or {}
            kept.append(entry)
        out[kind] = kept
    return out, changed


def person_events(events: Sequence[Event], terms: PersonTerms) -> list[Event]:
    """The events about the person: theirs (completions, ratings, assessments, surveys,
    attendance) and the cycle definitions that name them (as participant or trainer)."""
    return [e for e in events if terms.matches(e.employee) or _mentions(e.details, terms)]


def events_without(
    events: Sequence[Event], terms: PersonTerms
) -> tuple[list[int], dict[int, dict[str, Any]]]:
    """What erasing the person does to the events: the ids of theirs to delete, and the new
    details of the others that name them (a cycle's participants without them)."""
    remove: list[int] = []
    details: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.id is None:
            continue
        if terms.matches(event.employee):
            remove.append(event.id)
        elif _mentions(event.details, terms):
            details[event.id] = _without(event.details, terms) or {}
    return remove, details


__all__ = [
    "PersonTerms",
    "catalog_mentions",
    "catalog_without",
    "employee_entry",
    "events_without",
    "person_events",
    "terms_for",
]
