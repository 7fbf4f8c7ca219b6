"""Vectors made in the background: `KnowledgeBase.embed_pending` on a thread of its own.

Documents are stored for their words first and their chunks queued for the encoder (see
`KnowledgeBase.write_documents`). Two users of the queue run it on a thread:

- an ingest (`ingest.pipeline.ingest_paths`) embeds while it goes on reading files, and waits
  for the queue to empty once it has read them all (`finish`);
- a long-running process (`kb serve`, `kb worker`) watches the queue and embeds whatever
  lands in it: chunks an ingest left with `--no-wait`, or that a crash or Ctrl-C left behind.

Any number of these, in any processes, may share a store: each claims its own chunks.
"""

from __future__ import annotations

import logging
import threading

from kb.db.outage import OutageWatch
from kb.knowledge_base import EMBED_CLAIM, EmbeddingProgress, EmbeddingReport, KnowledgeBase

log = logging.getLogger("kb.background")

WATCH_POLL_S = 2.0  # how often a watching embedder looks at the queue when nothing woke it


class BackgroundEmbedder:
    """One thread giving the store's queued chunks their vectors.

    `watch=False`: embeds until the queue is empty once `finish` was called (an ingest that
    is still writing keeps it waiting for more). `watch=True`: embeds whatever is queued,
    then looks again every `poll_s` (or at once after `nudge`), until `stop`.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        watch: bool = False,
        claim: int = EMBED_CLAIM,
        progress: EmbeddingProgress | None = None,
        poll_s: float = WATCH_POLL_S,
    ) -> None:
        self.kb = kb
        self.watch = watch
        self.claim = claim
        self.progress = progress
        self.poll_s = poll_s
        self.report = EmbeddingReport()
        self._writing = threading.Event()
        self._writing.set()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kb-embed", daemon=True)

    def start(self) -> BackgroundEmbedder:
        self._thread.start()
        return self

    @property
    def stopping(self) -> threading.Event:
        """Set once `stop` was called (for a run of `embed_pending` outside the thread)."""
        return self._stop

    def nudge(self) -> None:
        """Look at the queue now (something was just written to it)."""
        self._wake.set()

    def _embed_once(self) -> None:
        done = self.kb.embed_pending(
            progress=self.progress,
            keep_going=self._writing.is_set if not self.watch else lambda: False,
            stop=self._stop,
            claim=self.claim,
        )
        self.report.embedded += done.embedded
        self.report.filled += done.filled
        self.report.pending = done.pending

    def _run(self) -> None:
        if not self.watch:
            try:
                self._embed_once()
            except BaseException as exc:  # handed to the waiting thread by `finish`
                self._error = exc
            return
        outage = OutageWatch(log, "making vectors for queued chunks", self.kb.store.location)
        while not self._stop.is_set():
            try:
                self._embed_once()
                outage.succeeded()
            except Exception as exc:  # a watcher outlives one failure; the next look retries
                if not outage.failed(exc):  # an outage is one warning, not a traceback a turn
                    log.exception("making vectors for queued chunks failed; retrying later")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def finish(self) -> EmbeddingReport:
        """Wait until every queued chunk has its vector (Ctrl-C still reaches the caller)."""
        self._writing.clear()
        while self._thread.is_alive():
            self._thread.join(0.2)
        if self._error is not None:
            raise self._error
        return self.report

    def stop(self, wait: float | None = None) -> None:
        """Stop after the chunks being encoded; what is left stays queued for next time."""
        self._writing.clear()
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait)


__all__ = ["BackgroundEmbedder", "WATCH_POLL_S"]
