"""Who may do what: API keys, roles, the 401/403 matrix, and refusing bad key files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import ConfigurationError, create_app
from api.http.auth import ApiKeysError, KeyRing, load_api_keys
from api.settings import Settings
from kb import Embedder
from tests.api_helpers import (
    KEY_ENTRIES,
    KEYS,
    auth,
    files_part,
    load_sample_catalog,
    running_client,
    settings_for,
    write_keys,
)

GOOD_KEY = "x" * 20


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder
) -> Iterator[TestClient]:
    with running_client(tmp_path_factory.mktemp("api-auth"), fake_embedder) as c:
        load_sample_catalog(c)
        yield c


# (method, path, extra request arguments, lowest role allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("GET", "/search?q=tuning", {}, "employee"),
    ("GET", "/documents", {}, "employee"),
    ("GET", "/employees/liam-chen/gaps", {}, "employee"),
    ("GET", "/employees/liam-chen/next-module", {}, "employee"),
    ("GET", "/employees/liam-chen/plan?hours=5", {}, "employee"),
    ("GET", "/employees/liam-chen/recommendations?k=2", {}, "employee"),
    ("GET", "/teams/nlp", {}, "organiser"),
    ("GET", "/ingest/jobs/" + "0" * 32, {}, "organiser"),
    ("DELETE", "/documents/0000000000000000", {}, "organiser"),
    ("POST", "/ingest", {"files": files_part({"a.md": "# A\n\ntext"})}, "organiser"),
    ("PUT", "/catalog", {"files": files_part({"nothing.txt": "x"})}, "organiser"),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "lowest"), ENDPOINTS)
def test_no_key_or_a_wrong_key_is_401(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], lowest: str
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-a-key-0123456789"},
        {"Authorization": f"Basic {KEYS['admin']}"},
    ):
        response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "kwargs", "lowest"), ENDPOINTS)
def test_roles_matrix(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], lowest: str
) -> None:
    for who, role in (("liam", "employee"), ("organiser", "organiser"), ("admin", "admin")):
        response = client.request(method, path, headers=auth(who), **kwargs)
        allowed = lowest == "employee" or role != "employee"
        if allowed:
            assert response.status_code not in (401, 403), (who, path, response.text)
        else:
            assert response.status_code == 403, (who, path, response.text)
            assert "organiser" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/employees/priya-raman/gaps",
        "/employees/priya-raman/next-module",
        "/employees/priya-raman/plan?hours=5",
        "/employees/priya-raman/recommendations",
    ],
)
def test_an_employee_cannot_read_another_employee(client: TestClient, path: str) -> None:
    response = client.get(path, headers=auth("liam"))
    assert response.status_code == 403
    assert "liam-chen" in response.json()["error"]["message"]
    assert client.get(path, headers=auth("organiser")).status_code == 200


def test_an_employee_cannot_post_events_for_another(client: TestClient) -> None:
    event = {"kind": "completion", "module": "nlp-optimisation", "score": 0.9}
    response = client.post("/employees/priya-raman/events", json=event, headers=auth("liam"))
    assert response.status_code == 403


def test_an_employee_reads_its_own_data(client: TestClient) -> None:
    body = client.get("/employees/liam-chen/gaps", headers=auth("liam")).json()
    assert body["employee"] == "liam-chen"
    assert body["gaps"]


def test_me_says_whom_the_key_stands_for(client: TestClient) -> None:
    assert client.get("/me").status_code == 401
    assert client.get("/me", headers=auth("liam")).json() == {
        "role": "employee",
        "employee": "liam-chen",
        "team": None,
    }
    assert client.get("/me", headers=auth("organiser_recsys")).json() == {
        "role": "organiser",
        "employee": None,
        "team": "recsys",
    }


def test_keys_are_matched_exactly(tmp_path: Path) -> None:
    keys = write_keys(tmp_path / "keys.yaml", [{"key": GOOD_KEY, "role": "admin"}])
    ring = KeyRing(load_api_keys(keys))
    assert ring.identify(GOOD_KEY) is not None
    assert ring.identify(GOOD_KEY + "x") is None
    assert ring.identify(GOOD_KEY[:-1]) is None
    assert ring.identify("") is None


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([], "non-empty YAML list"),
        ({"key": GOOD_KEY}, "non-empty YAML list"),
        ([{"key": GOOD_KEY, "role": "admin"}, "just a string"], "entry 2 is not a mapping"),
        ([{"key": "short", "role": "admin"}], "entry 1 (role 'admin'): 'key' must be"),
        ([{"key": GOOD_KEY, "role": "boss"}], "entry 1 (role 'boss'): 'role' must be one of"),
        ([{"key": GOOD_KEY, "role": "employee"}], "entry 1 (role 'employee'): an employee key"),
        ([{"key": GOOD_KEY, "role": "admin", "team": "nlp"}], "only organiser keys take"),
        ([{"key": GOOD_KEY, "role": "admin", "employe": "x"}], "unknown field(s) employe"),
        (
            [{"key": GOOD_KEY, "role": "admin"}, {"key": GOOD_KEY, "role": "organiser"}],
            "entry 2 repeats the key of entry 1",
        ),
    ],
)
def test_malformed_keys_files_are_refused_naming_the_entry(
    tmp_path: Path, entries: Any, expected: str
) -> None:
    path = write_keys(tmp_path / "keys.yaml", entries)
    with pytest.raises(ApiKeysError) as info:
        create_app(settings_for(path.parent / "home", path))
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert GOOD_KEY not in str(info.value)  # never echo a key


def test_unreadable_keys_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "keys.yaml"
    bad.write_text("- {key: [unclosed")
    with pytest.raises(ApiKeysError, match="not valid YAML"):
        create_app(settings_for(tmp_path / "home", bad))
    with pytest.raises(ApiKeysError, match="no such file"):
        create_app(settings_for(tmp_path / "home", tmp_path / "missing.yaml"))


def test_refuses_to_start_without_keys_unless_auth_is_disabled(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    with pytest.raises(ConfigurationError, match="KB_API_KEYS_FILE"):
        create_app(Settings(home=tmp_path / "home", api_keys_file=None))
    app = create_app(
        Settings(home=tmp_path / "home", api_keys_file=None, auth_disabled=True),
        embedder=fake_embedder,
    )
    with TestClient(app) as client:
        assert client.get("/teams/nlp").status_code == 409  # admin, but no catalogue yet
        assert client.get("/health").json()["auth"] == "disabled"


def test_the_cli_refuses_a_malformed_keys_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from api.cli import main

    keys = write_keys(tmp_path / "keys.yaml", [{"key": GOOD_KEY, "role": "employee"}])
    result = CliRunner().invoke(
        main,
        ["--home", str(tmp_path / "home"), "serve", "--port", "1"],
        env={"KB_API_KEYS_FILE": str(keys)},
    )
    assert result.exit_code == 2
    assert "entry 1 (role 'employee')" in result.output


def test_sample_keys_cover_every_role() -> None:
    assert {e["role"] for e in KEY_ENTRIES} == {"employee", "organiser", "admin"}


def test_the_sign_in_form_posts_and_the_post_never_reads_the_key(client: TestClient) -> None:
    """Should its script fail to load, the form must not fall back to a GET, which would put
    the key in the URL (history, access log)."""
    html = client.get("/web/signin").text
    form = re.search(r"<form[^>]*id=\"signin-form\"[^>]*>", html)
    assert form is not None and 'method="post"' in form.group(0), form
    response = client.post(
        "/web/signin", data={"employee": "", "key": KEYS["admin"]}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/web/signin"
    assert KEYS["admin"] not in response.text + response.headers["location"]


def test_both_key_formats_in_one_file_are_accepted(client: TestClient) -> None:
    assert "key" in KEY_ENTRIES[0] and "key_sha256" in KEY_ENTRIES[1]
    for who in ("admin", "organiser"):
        assert client.get("/me", headers=auth(who)).status_code == 200
