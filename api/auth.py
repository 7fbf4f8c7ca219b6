"""Who is calling: bearer API keys from a YAML file, each bound to a role (and an employee).

The keys file (``KB_API_KEYS_FILE``) is a YAML list of entries::

    - {key: "<at least 16 characters>", role: employee, employee: liam-chen}
    - {key: "...", role: organiser, team: nlp}      # team: optional, for restricted documents
    - {key: "...", role: admin}

Keys never live in the code. A malformed file stops the service at start-up with a message
naming the entry (by position and role, never by key). Keys are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

Role = Literal["employee", "organiser", "admin"]
ROLES: tuple[Role, ...] = ("employee", "organiser", "admin")
MIN_KEY_LENGTH = 16
_FIELDS = {"key", "role", "employee", "team"}


class ApiKeysError(ValueError):
    """The keys file cannot be used; the message names the file and the faulty entry."""


@dataclass(frozen=True)
class ApiKey:
    key: str
    role: Role
    employee: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``team`` is an organiser key's team (employees' teams come from
    the catalogue, resolved per request, since the catalogue can change while serving)."""

    role: Role
    employee: str | None = None
    team: str | None = None

    def at_least(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def describe(self) -> str:
        if self.employee:
            return f"{self.role} {self.employee}"
        return self.role + (f" (team {self.team})" if self.team else "")


ADMIN = Principal(role="admin")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _parse_entry(position: int, entry: Any, where: str) -> ApiKey:
    if not isinstance(entry, dict):
        raise ApiKeysError(
            f"{where}: entry {position} is not a mapping; write it as "
            "{key: ..., role: ..., employee: ...}"
        )
    role = entry.get("role")
    label = f"{where}: entry {position}" + (f" (role {role!r})" if isinstance(role, str) else "")
    unknown = sorted(set(map(str, entry)) - _FIELDS)
    if unknown:
        raise ApiKeysError(
            f"{label}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}"
        )
    key = entry.get("key")
    if not isinstance(key, str) or len(key.strip()) < MIN_KEY_LENGTH or key != key.strip():
        raise ApiKeysError(
            f"{label}: 'key' must be a string of at least {MIN_KEY_LENGTH} characters without "
            "surrounding spaces (e.g. from `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    if role not in ROLES:
        raise ApiKeysError(f"{label}: 'role' must be one of {', '.join(ROLES)}")
    employee = _text(entry.get("employee"))
    team = _text(entry.get("team"))
    if role == "employee" and employee is None:
        raise ApiKeysError(f"{label}: an employee key needs 'employee' (the catalogue id)")
    if role != "employee" and entry.get("employee") is not None:
        raise ApiKeysError(f"{label}: only employee keys take 'employee'")
    if role != "organiser" and entry.get("team") is not None:
        raise ApiKeysError(
            f"{label}: only organiser keys take 'team' (an employee's team comes from the "
            "catalogue; admin sees everything)"
        )
    if entry.get("team") is not None and team is None:
        raise ApiKeysError(f"{label}: 'team' must be a non-empty team id")
    return ApiKey(key=key, role=role, employee=employee, team=team)


def load_api_keys(path: Path) -> tuple[ApiKey, ...]:
    """Read and validate the keys file; raise ApiKeysError naming the first faulty entry."""
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApiKeysError(f"{where}: no such file (KB_API_KEYS_FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ApiKeysError(f"{where}: cannot read it: {exc}") from None
    except yaml.YAMLError as exc:
        detail = str(exc).replace("\n", " ")
        raise ApiKeysError(f"{where}: not valid YAML: {detail}") from None
    if not isinstance(raw, list) or not raw:
        raise ApiKeysError(f"{where}: expected a non-empty YAML list of {{key, role, employee}}")
    keys = [_parse_entry(n, entry, where) for n, entry in enumerate(raw, start=1)]
    seen: dict[str, int] = {}
    for n, item in enumerate(keys, start=1):
        if item.key in seen:
            raise ApiKeysError(f"{where}: entry {n} repeats the key of entry {seen[item.key]}")
        seen[item.key] = n
    return tuple(keys)


class KeyRing:
    """Finds the key a caller presented, comparing digests in constant time against all keys
    (no early exit, equal lengths), so timing reveals neither a key nor which one matched."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._entries: Sequence[tuple[bytes, ApiKey]] = tuple(
            (hashlib.sha256(k.key.encode()).digest(), k) for k in keys
        )

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str) -> Principal | None:
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found: ApiKey | None = None
        for secret, key in self._entries:
            if hmac.compare_digest(secret, digest):
                found = key
        if found is None:
            return None
        return Principal(role=found.role, employee=found.employee, team=found.team)
