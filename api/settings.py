"""Settings read once at start-up (environment, then flags), validated, and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """KB_HOME, KB_MODEL, KB_MAX_FILE_MB, ...: one place for every knob."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    home: Path = Field(default=Path(".kb"), description="the data folder")
    model: str | None = Field(default=None, description="path to a sentence-transformers model")
    max_file_mb: float = Field(default=25.0, gt=0)
    chunk_tokens: int = Field(default=200, ge=32, le=2048)
