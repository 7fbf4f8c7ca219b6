"""Scheduled syncs: a thread that syncs each source when its interval comes round, beside the
ingest job queue in the processes that run jobs (`kb serve`; with PostgreSQL, the replicas
that run jobs and `kb worker`).

Every `poll` seconds it asks the registry for one due source nobody holds
(`SourceRegistry.claim_due`: a claim in the store, so one sync at a time per source across
every process and machine; a due source whose holder was a process of this machine that died,
a `kb source sync` killed with SIGKILL, is taken over at once rather than after its lease),
syncs it (`Syncer.run_claimed`: a failure is recorded, the last
good documents stay) and asks again. `POST /sources/{name}/sync` makes a source due now.
"""

from __future__ import annotations

import logging
import threading
import time

from ingest.sources.sync import Syncer, dead_here, new_owner
from kb.db.outage import OutageWatch
from kb.sources import Source

log = logging.getLogger("ingest.sources")
POLL_SECONDS = 5.0


class SourceScheduler:
    def __init__(self, syncer: Syncer, *, poll: float = POLL_SECONDS) -> None:
        self.syncer = syncer
        self.poll = poll
        self.owner = new_owner()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SourceScheduler:
        self._thread = threading.Thread(target=self._run, name="kb-source-sync", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due sources now rather than at the next poll."""
        self._wake.set()

    def run_due(self) -> int:
        """Sync every source due now, one after another; how many ran."""
        ran = 0
        while not self._stop.is_set():
            source = self.syncer.registry.claim_due(self.owner) or self._take_orphan()
            if source is None:
                return ran
            self.syncer.run_claimed(source, self.owner)
            ran += 1
        return ran

    def _take_orphan(self) -> Source | None:
        """A due source still claimed by a process of this machine that no longer runs (killed
        mid-sync: its `finish` never came), claimed for us; None when there is none. The lease
        would free it too, but only after `CLAIM_SECONDS`."""
        registry, now = self.syncer.registry, time.time()
        for source in registry.list():
            holder = source.status.claimed_by
            due = source.status.next_run_at is not None and source.status.next_run_at <= now
            if due and source.running(now) and dead_here(holder):
                taken = registry.claim(source.name, self.owner, takeover=holder)
                if taken is not None:
                    return taken
        return None

    def _run(self) -> None:
        outage = OutageWatch(
            log, "scheduled source syncs", getattr(self.syncer.registry, "location", None)
        )
        while not self._stop.is_set():
            try:
                self.run_due()
                outage.succeeded()
            except Exception as exc:  # the registry unreachable for a while: try again later
                if not outage.failed(exc):
                    log.exception("scheduled source syncs failed")
            self._wake.wait(self.poll)
            self._wake.clear()

    def stop(self, wait: float = 10.0) -> bool:
        """Stop after the sync running now; False if it had not finished after `wait`."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(wait)
        return not self._thread.is_alive()
