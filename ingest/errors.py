"""Errors ingestion raises: a file it cannot take (the batch goes on without it), and an
upload refused before any job starts."""

from __future__ import annotations

from typing import Literal

RefusalKind = Literal["too_large", "unsupported", "invalid"]


class UnreadableFile(Exception):
    """A file was skipped; the message says why and, where possible, how to fix it."""


class UploadRefused(Exception):
    """An upload broke a rule (a limit, a type, a name); nothing was queued. `kind` says which
    sort of rule, for the interfaces to map (HTTP: 413, 415, 422); `file` names the file."""

    def __init__(self, kind: RefusalKind, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.file = file
