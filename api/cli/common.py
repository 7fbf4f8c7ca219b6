"""What every `kb` sub-command shares: the context object, errors with exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kb import KnowledgeBase


class CliError(click.ClickException):
    """A user-facing failure: printed as one sentence, exit status 2 (bad input, unknown id)."""

    exit_code = 2


@dataclass
class CliContext:
    """Carried in `ctx.obj`; the knowledge base is opened lazily, once, on first use."""

    home: Path
    model: str | None = None
    _kb: KnowledgeBase | None = field(default=None, repr=False)

    def open_kb(self) -> KnowledgeBase:
        if self._kb is None:
            from api.wiring import open_knowledge_base

            self._kb = open_knowledge_base(self.home, self.model)
        return self._kb

    def close(self) -> None:
        if self._kb is not None:
            self._kb.close()
            self._kb = None


def emit_json(payload: Any) -> None:
    """Print one JSON document on stdout (UTF-8, stable key order as given)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")
