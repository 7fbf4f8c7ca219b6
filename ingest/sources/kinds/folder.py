"""The `folder` kind: a folder on this machine, compared in full by content hash at each sync.

Every sync walks the folder (`.kbignore`, sidecars and `.zip` archives as `kb ingest` reads
them) and returns every file with `complete=True`: unchanged files cost a hash, changed ones
are read again, vanished ones removed. A folder that is gone fails the sync and keeps the
documents (it may be an unmounted disk). The watched-folder kind adds events on top.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.sources.files import Failure, SourceFile, discover
from ingest.sources.kinds.base import Changes, PathFilter, SyncContext
from kb.sources import SourceError, SourceSpec


class FolderKind:
    name = "folder"

    def check(self, spec: SourceSpec) -> SourceSpec:
        folder = Path(spec.location).expanduser()
        if not folder.is_dir():
            raise SourceError(f"{spec.location} is not a folder: give the path of one.")
        return replace(spec, location=str(folder.resolve()))

    def sync(
        self, spec: SourceSpec, last_state: Mapping[str, Any], context: SyncContext
    ) -> Changes:
        folder = Path(spec.location)
        if not folder.is_dir():
            raise SourceError(
                f"The folder {spec.location} is gone (or not mounted): its documents are kept "
                "until it is back, or remove the source."
            )
        selected = PathFilter(spec.options)
        files: list[SourceFile] = []
        failures: list[Failure] = []
        for item in discover([folder], context.limits):
            if isinstance(item, Failure):
                failures.append(item)
            elif selected(item.source):
                files.append(item)
        return Changes(
            state={"scanned_at": round(time.time(), 3)},
            files=files,
            complete=True,
            failures=failures,
        )
