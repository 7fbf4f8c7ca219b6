"""Company sign-in measured (docs/sign-in.md): the sign-in round trip and the cost of
validating a bearer access token on each request.

Run: .venv/bin/python bench/sign_in.py [--sign-ins 60] [--requests 1000] [--repeats 3]

The identity provider is tests/oidc_provider.py (Authlib's provider side, werkzeug on
127.0.0.1); the service is the full app under uvicorn on 127.0.0.1 (the model is
tests.fakes.HashingEmbedder: no search is made). Figures, medians over `--repeats` runs:

- round trip: GET /auth/login -> the provider's page -> its approval -> GET /auth/callback
  (code exchange at the token endpoint, ID token validated, audit record written, cookies
  set) -> GET /me with the cookie; the client is httpx, so no browser rendering is counted.
  The provider's own work (RSA signing of two tokens) is in it, as it is for a person.
- validation in process: `OidcProvider.validate` on one RS256 access token, keys cached.
- per request over HTTP: GET /me with the access token, and with an API key, p50/p95.
-> bench/results/sign_in.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import save, summary_ms  # noqa: E402
from tests.fakes import HashingEmbedder  # noqa: E402
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, User  # noqa: E402
from tests.web.test_pages import CATALOG, KEY_ENTRIES, KEYS, _free_port, serve  # noqa: E402

RULES = [{"group": "grp-nlp", "team": "nlp"}, {"group": "ai-organisers", "role": "organiser"}]


def _round_trip(browser: httpx.Client, idp: httpx.Client, username: str) -> float:
    """One person's sign-in, as a browser makes it (its connections kept, as a browser keeps
    them; a fresh cookie jar, as for someone not signed in)."""
    browser.cookies.clear()
    started = time.perf_counter()
    start = browser.get("/auth/login", follow_redirects=False)
    authorize = start.headers["location"]
    idp.get(authorize).raise_for_status()
    split = urlsplit(authorize)
    fields = {k: v[0] for k, v in parse_qs(split.query).items()}
    back = idp.post(
        f"{split.scheme}://{split.netloc}/authorize", data={**fields, "username": username}
    )
    callback = urlsplit(back.headers["location"])
    done = browser.get(f"{callback.path}?{callback.query}", follow_redirects=False)
    assert done.status_code == 303, done.text
    me = browser.get("/me")
    assert me.status_code == 200 and me.json()["employee"] == username, me.text
    return time.perf_counter() - started


def _timed(call: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append(time.perf_counter() - started)
    return out


def _median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 3),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in runs), 3),
        "n_per_run": int(runs[0]["n"]),
        "runs": len(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sign-ins", type=int, default=60)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    users = [User(f"person-{i}", f"Person {i}", ["grp-nlp"]) for i in range(args.sign_ins)]
    provider = Provider([*users, User("liam-chen", "Liam Chen", ["grp-nlp"])]).start()
    port = _free_port()
    provider.client.redirect_uris.append(f"http://127.0.0.1:{port}/auth/callback")
    settings = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "session_secret": "bench-session-secret-0123456789abcdef",
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            keys = Path(tmp) / "keys.yaml"
            keys.write_text(yaml.safe_dump(KEY_ENTRIES))
            with serve(Path(tmp) / "home", keys, HashingEmbedder(), port=port, **settings) as base:
                admin = {"Authorization": f"Bearer {KEYS['admin']}"}
                parts = [
                    ("files", (p.name, p.read_bytes())) for p in sorted(CATALOG.glob("*.yaml"))
                ]
                parts.append(("files", ("sign_in.yaml", yaml.safe_dump(RULES).encode())))
                httpx.put(
                    f"{base}/catalog", files=parts, headers=admin, timeout=60
                ).raise_for_status()
                browser = httpx.Client(base_url=base, timeout=30)
                idp = httpx.Client(timeout=30)
                _round_trip(browser, idp, "liam-chen")  # warm: discovery, keys, connections
                trips = []
                for _ in range(args.repeats):
                    # an employee already in the catalogue; a first sign-in also writes it
                    trips.append(
                        summary_ms([_round_trip(browser, idp, "liam-chen") for _ in users])
                    )
                first = summary_ms([_round_trip(browser, idp, u.username) for u in users])
                browser.close()
                idp.close()

                token = provider.access_tokens[-1]
                from api.http.oidc import OidcProvider

                validator = OidcProvider(provider.issuer, CLIENT_ID, CLIENT_SECRET)
                validator.validate(token)  # discovery and keys fetched once
                in_process = [
                    summary_ms(_timed(lambda: validator.validate(token), args.requests))
                    for _ in range(args.repeats)
                ]
                validator.close()

                with httpx.Client(base_url=base, timeout=30) as client:
                    bearer = {"Authorization": f"Bearer {token}"}
                    key = {"Authorization": f"Bearer {KEYS['liam']}"}
                    client.get("/me", headers=bearer).raise_for_status()
                    http_token, http_key = [], []
                    for _ in range(args.repeats):
                        http_token.append(
                            summary_ms(
                                _timed(lambda: client.get("/me", headers=bearer), args.requests)
                            )
                        )
                        http_key.append(
                            summary_ms(
                                _timed(lambda: client.get("/me", headers=key), args.requests)
                            )
                        )
    finally:
        provider.stop()

    save(
        "sign_in",
        {
            "sign_in_round_trip_existing_employee": _median_of(trips),
            "sign_in_round_trip_first_time": {**first, "note": "one run: adds the employee"},
            "token_validation_in_process": _median_of(in_process),
            "get_me_with_access_token": _median_of(http_token),
            "get_me_with_api_key": _median_of(http_key),
        },
    )


if __name__ == "__main__":
    main()
