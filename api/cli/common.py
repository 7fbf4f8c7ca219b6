"""What every `kb` sub-command shares: the context object, errors with exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic_core import to_jsonable_python

if TYPE_CHECKING:
    from api.backends import Backend
    from kb import Embedder, KnowledgeBase
    from kb.searchlog.base import ReaderCounts, SearchLog


class CliError(click.ClickException):
    """A user-facing failure: printed as one sentence, exit status 2 (bad input, unknown id)."""

    exit_code = 2


@dataclass
class CliContext:
    """Carried in `ctx.obj`; the knowledge base is opened lazily, once, on first use.

    `embedder` (a model already loaded) and `knowledge_base` (one already open) are the
    injection points for tests and embedding programs: `main` keeps them when given an object,
    and closes only a knowledge base it opened itself (an injected one belongs to its giver).
    """

    home: Path
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    model: str | None = None
    variant: str | None = None
    embedder: Embedder | None = None
    knowledge_base: KnowledgeBase | None = field(default=None, repr=False)
    _opened_here: bool = field(default=False, init=False, repr=False)
    _signals: _LogSignals | None = field(default=None, init=False, repr=False)

    @property
    def backend(self) -> Backend:
        """Where the state is kept (`api.backends`): PostgreSQL with a database URL, else SQLite
        in the home folder; a URL that is not PostgreSQL's is a CliError."""
        from api.backends import open_backend
        from kb import KBError

        try:
            return open_backend(self.home, self.database_url)
        except KBError as exc:
            raise CliError(str(exc)) from exc

    def open_kb(self) -> KnowledgeBase:
        if self.knowledge_base is None:
            from kb import KBError

            backend = self.backend
            try:
                self.knowledge_base = backend.open_knowledge_base(
                    model=self.model, variant=self.variant, embedder=self.embedder
                )
                self._opened_here = True
                # readers' thumbs for a trained ranking model (the log opened on first need)
                self._signals = _LogSignals(backend)
                self.knowledge_base.searcher.reader_signals = self._signals
                # staleness marks: the settings' thresholds, the catalogue's per skill
                self.knowledge_base.searcher.freshness_of = _cli_freshness(backend)
                # English questions about Chinese material (docs/chinese.md)
                self.knowledge_base.searcher.chinese_stand_in = cli_settings().chinese_stand_in
                # quoted answers' sentence scorer (docs/answers.md)
                self.knowledge_base.answer_model = cli_settings().answer_model
            except KBError as exc:  # another model or variant, a damaged store: one sentence
                raise CliError(str(exc)) from exc
        return self.knowledge_base

    def close(self) -> None:
        if self._signals is not None:
            self._signals.close()
            self._signals = None
        if self.knowledge_base is not None and self._opened_here:
            self.knowledge_base.close()
            self.knowledge_base = None
            self._opened_here = False


class _LogSignals:
    """The search log's reader signals for the CLI's searches (kb.searchlog.recorder
    .ReaderSignals), opened only when a search first asks (a trained ranking model in use),
    and none when KB_ANALYTICS_ENABLED is off or the log cannot be opened."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._log: SearchLog | None = None
        self._signals: Callable[[str], Mapping[str, ReaderCounts]] | None = None
        self._tried = False

    def __call__(self, query: str) -> Mapping[str, ReaderCounts]:
        if not self._tried:
            self._tried = True
            from api.settings import Settings
            from kb.searchlog.recorder import ReaderSignals

            if Settings().analytics_enabled:
                try:
                    self._log = self._backend.open_search_log()
                    self._signals = ReaderSignals(self._log)
                except Exception:  # a search never fails for its log: rank without votes
                    self._log = None
        return self._signals(query) if self._signals is not None else {}

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def cli_settings() -> Any:
    """`api.settings.Settings` from the environment, or a CliError naming what is wrong."""
    from pydantic import ValidationError

    from api.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        faults = "; ".join(
            f"KB_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"A setting is not valid ({faults}): fix it in the environment.") from None


def _cli_freshness(backend: Backend) -> Callable[[], Any]:
    """The CLI's freshness rule (api.freshness): the catalogue read once, on first need."""
    from api.freshness import freshness_source
    from recommender import NoCatalogError, current_catalog

    settings = cli_settings()
    read: list[Any] = []

    def catalog() -> Any:
        if not read:
            try:
                with closing(backend.open_recommender_store()) as store:
                    read.append(current_catalog(store))
            except NoCatalogError:
                read.append(None)
            except Exception:  # unreadable: the default thresholds alone (freshness_source)
                read.append(None)
        return read[0]

    rule = freshness_source(settings, catalog)
    built: list[Any] = []

    def current() -> Any:
        if not built:
            built.append(rule())
        return built[0]

    return current


@contextmanager
def recommender_errors() -> Iterator[None]:
    """The recommender's errors as one sentence and exit status 2 (bad input, an unknown id),
    the kb's own (an unreachable database, a damaged store) as one sentence and exit status 1,
    never a traceback."""
    from kb import KBError
    from recommender import RecommenderError

    try:
        yield
    except RecommenderError as exc:
        raise CliError(str(exc)) from None
    except KBError as exc:
        raise click.ClickException(str(exc)) from None


def to_json(payload: Any) -> Any:
    """The JSON value of a domain value: a dataclass becomes its fields (in their order),
    tuples lists, nested values likewise. The HTTP responses serialise the same dataclasses
    with the same library (FastAPI's response models), so both print the same fields."""
    return to_jsonable_python(payload, fallback=str)


def emit_json(payload: Any) -> None:
    """Print one JSON document on stdout (UTF-8, stable key order as given)."""
    sys.stdout.write(json.dumps(to_json(payload), ensure_ascii=False, indent=2) + "\n")
