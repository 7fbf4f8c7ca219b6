"""Who is calling: bearer API keys from a YAML file, each bound to a role (and an employee).

The keys file (``KB_API_KEYS_FILE``) is a YAML list of entries::

    - {key_sha256: "<64 hex digits>", role: employee, employee: liam-chen}
    - {key_sha256: "...", role: organiser, team: nlp}   # team: optional, for restricted docs
    - {key: "<at least 16 characters>", role: admin}    # a plain key: still read, not advised

Only a key's SHA-256 need be stored (``kb keys add`` stores nothing else and shows the key
once; ``kb keys hash`` converts a file of plain keys). A key is random (32 characters from
``secrets``), so an unsalted fast hash is enough: there is no dictionary to try. Keys never
live in the code. A malformed file stops the service at start-up with a message naming the
entry (by position and role, never by key). Digests are compared in constant time. The file
is written with mode 0600 from its creation (a temporary file, then an atomic rename).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

Role = Literal["employee", "organiser", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
MIN_KEY_LENGTH = 16
_FIELDS = {"key", "key_sha256", "role", "employee", "team"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

log = logging.getLogger("api.http.auth")


class ApiKeysError(ValueError):
    """The keys file cannot be used; the message names the file and the faulty entry."""


@dataclass(frozen=True)
class ApiKey:
    key_sha256: str  # hex digest of the key; the key itself is not kept
    role: Role
    employee: str | None = None
    team: str | None = None
    plain: bool = False  # the file stores the key itself (an entry to convert with `kb keys hash`)


def hash_key(key: str) -> str:
    """The SHA-256 of a key, in hex, as the keys file stores it."""
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``team`` is an organiser key's team (employees' teams come from
    the catalogue, resolved per request, since the catalogue can change while serving)."""

    role: Role
    employee: str | None = None
    team: str | None = None
    # the key's stable id (the first 16 hex digits of its SHA-256), for counting distinct
    # voters (kb.searchlog: only an HMAC of it is stored); None with authentication disabled
    key_id: str | None = field(default=None, compare=False, repr=False)

    @property
    def voter_key(self) -> str:
        """Who this caller is for counting readers' votes: the employee, else the key; with
        authentication disabled every caller is one voter."""
        if self.employee:
            return f"employee:{self.employee}"
        return f"key:{self.key_id}" if self.key_id else "service"

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
    key, digest = entry.get("key"), entry.get("key_sha256")
    if (key is None) == (digest is None):
        raise ApiKeysError(f"{label}: give either 'key_sha256' (advised) or 'key', not both")
    if digest is not None:
        if not isinstance(digest, str) or not _HEX64.match(digest.lower()):
            raise ApiKeysError(
                f"{label}: 'key_sha256' must be the 64 hex digits of the key's SHA-256 "
                "(`kb keys add` writes it)"
            )
        digest = digest.lower()
    elif not isinstance(key, str) or len(key.strip()) < MIN_KEY_LENGTH or key != key.strip():
        raise ApiKeysError(
            f"{label}: 'key' must be a string of at least {MIN_KEY_LENGTH} characters without "
            "surrounding spaces (`kb keys add` makes one)"
        )
    else:
        digest = hash_key(key)
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
    return ApiKey(key_sha256=digest, role=role, employee=employee, team=team, plain=key is not None)


def read_entries(path: Path) -> list[Any]:
    """The file's entries as YAML gives them (not validated: see `load_api_keys`)."""
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
        raise ApiKeysError(
            f"{where}: expected a non-empty YAML list of {{key_sha256, role, employee}}"
        )
    return raw


def load_api_keys(path: Path) -> tuple[ApiKey, ...]:
    """Read and validate the keys file; raise ApiKeysError naming the first faulty entry."""
    where = str(path)
    raw = read_entries(path)
    keys = [_parse_entry(n, entry, where) for n, entry in enumerate(raw, start=1)]
    seen: dict[str, int] = {}
    for n, item in enumerate(keys, start=1):
        if item.key_sha256 in seen:
            raise ApiKeysError(
                f"{where}: entry {n} repeats the key of entry {seen[item.key_sha256]}"
            )
        seen[item.key_sha256] = n
    plain = sum(1 for k in keys if k.plain)
    if plain:
        log.warning(
            "%s stores %d key(s) in plain text; `kb keys hash --file %s` keeps only their SHA-256",
            where,
            plain,
            where,
        )
    return tuple(keys)


def hash_entries(entries: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The entries with each plain `key` replaced by its `key_sha256` (in the same place);
    and how many were replaced. Validate the file first (`load_api_keys`)."""
    converted: list[dict[str, Any]] = []
    count = 0
    for entry in entries:
        if "key" in entry:
            count += 1
            entry = {
                ("key_sha256" if k == "key" else k): (hash_key(v) if k == "key" else v)
                for k, v in entry.items()
            }
        converted.append(entry)
    return converted, count


def write_keys_file(path: Path, entries: list[dict[str, Any]]) -> None:
    """Write the keys file atomically, readable by its owner only from the first byte: a
    temporary file created with mode 0600 in the same folder, then renamed over the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(entries, sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp's mode already; said again for the reader
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class KeyRing:
    """Finds the key a caller presented, comparing digests in constant time against all keys
    (no early exit, equal lengths), so timing reveals neither a key nor which one matched."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._entries: Sequence[tuple[bytes, ApiKey]] = tuple(
            (bytes.fromhex(k.key_sha256), k) for k in keys
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
        return Principal(
            role=found.role,
            employee=found.employee,
            team=found.team,
            key_id=found.key_sha256[:16],
        )
