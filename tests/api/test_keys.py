"""API keys at rest: the keys file holds only each key's SHA-256 and is never readable by
others, not even for a moment; plain keys in older files still work and can be converted."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from api.cli import main
from api.http.auth import ApiKeysError, KeyRing, hash_key, load_api_keys

PLAIN = "plain-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`kb keys add` records the change in the home's audit log (docs/audit.md): a home of
    the test's own (outside the folder whose files' modes are watched), not the working
    folder's .kb."""
    home = tmp_path_factory.mktemp("kb-home")
    monkeypatch.setenv("KB_HOME", str(home))
    return home


def kb(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def printed_key(output: str) -> str:
    return output.strip().splitlines()[0].rsplit(": ", 1)[1]


class _Modes:
    """Every mode the files of one folder had whenever a file was opened, renamed or had its
    mode changed in it (an audit hook: Python cannot remove one, so it is switched off)."""

    folder: Path | None = None
    seen: list[tuple[str, int]] = []

    @classmethod
    def hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if cls.folder is None or event not in ("open", "os.chmod", "os.rename"):
            return
        try:
            for path in cls.folder.iterdir():
                cls.seen.append((path.name, stat.S_IMODE(path.stat().st_mode)))
        except OSError:
            pass


sys.addaudithook(_Modes.hook)


@pytest.fixture
def modes(tmp_path: Path) -> Iterator[list[tuple[str, int]]]:
    old_umask = os.umask(0o022)  # the usual umask: a plain write gives 0644
    _Modes.folder, _Modes.seen = tmp_path, []
    try:
        yield _Modes.seen
    finally:
        _Modes.folder = None
        os.umask(old_umask)


def test_keys_add_stores_only_the_hash_in_a_file_never_readable_by_others(
    tmp_path: Path, modes: list[tuple[str, int]]
) -> None:
    keys_file = tmp_path / "keys.yaml"
    first = kb("keys", "add", "--file", str(keys_file), "--role", "organiser")
    second = kb(
        "keys", "add", "--file", str(keys_file), "--role", "employee", "--employee", "liam-chen"
    )
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert modes and all(mode == 0o600 for _, mode in modes), modes
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["keys.yaml"]  # no temporary file left
    keys = [printed_key(first.stdout), printed_key(second.stdout)]
    text = keys_file.read_text()
    assert not any(key in text for key in keys)
    entries = yaml.safe_load(text)
    assert [e["key_sha256"] for e in entries] == [hash_key(k) for k in keys]
    assert "key" not in entries[0] and entries[1]["employee"] == "liam-chen"
    assert "shown only now" in second.stderr.lower()
    ring = KeyRing(load_api_keys(keys_file))
    organiser, employee = (ring.identify(k) for k in keys)
    assert organiser is not None and organiser.role == "organiser"
    assert employee is not None and employee.employee == "liam-chen"
    assert ring.identify(hash_key(keys[0])) is None  # the stored hash is not a key


def test_plain_keys_still_work_and_keys_hash_converts_them(
    tmp_path: Path, modes: list[tuple[str, int]]
) -> None:
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(
        yaml.safe_dump(
            [
                {"role": "admin", "key": PLAIN},
                {"key_sha256": hash_key("hashed-key-0123456789"), "role": "organiser"},
            ],
            sort_keys=False,
        )
    )
    keys_file.chmod(0o644)
    assert KeyRing(load_api_keys(keys_file)).identify(PLAIN) is not None
    added = kb("keys", "add", "--file", str(keys_file), "--role", "admin")
    assert added.exit_code == 0 and "kb keys hash" in added.stderr  # told about the plain one
    assert PLAIN in keys_file.read_text()  # adding a key does not rewrite the others

    modes.clear()
    result = kb("keys", "hash", "--file", str(keys_file))
    assert result.exit_code == 0, result.output
    assert "1 plain key(s) replaced" in result.stdout
    assert all(mode == 0o600 for name, mode in modes if name != "keys.yaml")  # the new file
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    entries = yaml.safe_load(keys_file.read_text())
    assert PLAIN not in keys_file.read_text()
    assert entries[0] == {"role": "admin", "key_sha256": hash_key(PLAIN)}  # order kept
    ring = KeyRing(load_api_keys(keys_file))
    assert len(ring) == 3
    for key in (PLAIN, "hashed-key-0123456789", printed_key(added.stdout)):
        assert ring.identify(key) is not None
    again = kb("keys", "hash", "--file", str(keys_file))
    assert again.exit_code == 0 and "already stored as hashes" in again.stdout


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([{"key_sha256": "abc", "role": "admin"}], "'key_sha256' must be the 64 hex digits"),
        ([{"key_sha256": "g" * 64, "role": "admin"}], "'key_sha256' must be the 64 hex digits"),
        (
            [{"key": PLAIN, "key_sha256": hash_key(PLAIN), "role": "admin"}],
            "either 'key_sha256' (advised) or 'key', not both",
        ),
        ([{"role": "admin"}], "either 'key_sha256' (advised) or 'key'"),
        (
            [{"key": PLAIN, "role": "admin"}, {"key_sha256": hash_key(PLAIN), "role": "organiser"}],
            "entry 2 repeats the key of entry 1",
        ),
    ],
)
def test_faulty_hashed_entries_are_refused_naming_the_entry(
    tmp_path: Path, entries: Any, expected: str
) -> None:
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(yaml.safe_dump(entries))
    with pytest.raises(ApiKeysError) as info:
        load_api_keys(keys_file)
    assert expected in str(info.value)
    assert PLAIN not in str(info.value) and hash_key(PLAIN) not in str(info.value)
    refused = kb("keys", "hash", "--file", str(keys_file))
    assert refused.exit_code != 0 and expected in refused.output
    assert keys_file.read_text() == yaml.safe_dump(entries)  # left as it was


def test_an_uppercase_digest_is_accepted(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.yaml"
    keys_file.write_text(yaml.safe_dump([{"key_sha256": hash_key(PLAIN).upper(), "role": "admin"}]))
    assert KeyRing(load_api_keys(keys_file)).identify(PLAIN) is not None
