"""Which training session a document belongs to: declared, or inferred from its name or
metadata.

One training event leaves several files: the recording's transcript, the slide deck, the
chat log, write-ups. They are one *session* when

1. their metadata declares it: `session: 2026-04-14-lora-adapters` in front matter, a NOTE
   block or a sidecar (the value is the session's id, kept as written, trimmed); else
2. their file names share a stem after a leading ISO date: `2026-04-14-lora-adapters.vtt`,
   `2026-04-14-lora-adapters.pptx` and `2026-04-14-lora-adapters.txt` are session
   `2026-04-14-lora-adapters` (the folder does not matter; a name dated by month only, such as
   `2026-05-recsys-...md`, is not a session's); else
3. they share course, module and date: `llm-finetuning/llm-lora/2026-04-14`.

The rules are tried in that order and the first that applies wins, so a file named by rule 2
and a write-up matched by rule 3 are two sessions unless one declares the other's id: declare
`session:` where names and metadata do not line up. A document none of them applies to is in
no session (None).

This is pure string work over what the store already keeps (the source as shown, course,
module, date), so ingestion (`ingest.pipeline.build_document`) and the stores' backfill of
documents stored before sessions existed apply the same rule.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

MAX_SESSION_CHARS = 200

# A leading ISO date, then a separator, then the rest of the stem (at least one letter or
# digit): 2026-04-14-lora-adapters, 2026-04-14_lora, 2026-04-14 lora.
_DATED_STEM = re.compile(r"^(\d{4}-\d{2}-\d{2})[-_ .]+(?=[^\W_])(.+)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def dated_stem(source: str) -> str | None:
    """The session id a file's name gives: its stem (the name without any suffix, so that
    `x.pptx` and `x.srt` agree, and `x.txt.meta.yaml` is never asked) when it starts with an
    ISO date, lower-cased; None otherwise."""
    name = PurePosixPath(source.replace("\\", "/").split("!/")[-1]).name
    stem = name.split(".", 1)[0].strip()
    match = _DATED_STEM.match(stem)
    if match is None:
        return None
    return f"{match.group(1)}-{match.group(2)}".lower()


def infer_session(
    source: str,
    course: str | None,
    module: str | None,
    date: str | None,
    declared: str | None = None,
) -> str | None:
    """A document's session id by the rules above (declared, dated stem, course+module+date),
    or None when none applies."""
    if declared is not None and declared.strip():
        return declared.strip()[:MAX_SESSION_CHARS]
    stem = dated_stem(source)
    if stem is not None:
        return stem
    if course and module and date and _ISO_DATE.match(date.strip()):
        return f"{course.strip()}/{module.strip()}/{date.strip()[:10]}".lower()
    return None


__all__ = ["MAX_SESSION_CHARS", "dated_stem", "infer_session"]
