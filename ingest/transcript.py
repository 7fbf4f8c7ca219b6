"""Transcripts (WebVTT, including Zoom exports, and SubRip): cues grouped into ~1 minute windows.

Parsing is webvtt-py's. A leading NOTE block of `key: value` lines is read as metadata.
Zoom writes the speaker as "Name: text"; WebVTT voice tags (<v Name>) are read too.
Sound cues such as "(air whooshing)" or "[music]" are dropped.
"""

from __future__ import annotations

import io
import re

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from ingest.chunking import estimate_tokens
from ingest.errors import UnreadableFile
from ingest.metadata import parse_yaml_mapping
from ingest.parsed import Parsed
from kb.types import ChunkInput, Location

WINDOW_SECONDS = 60.0
_SPEAKER = re.compile(r"^((?:[A-Z][\w.'\-]*)(?: [A-Z][\w.'\-]*){0,3}):\s+(.+)$", re.DOTALL)
_SOUND = re.compile(r"^\s*[\(\[][^\)\]]*[\)\]]\s*$")


def seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def clock(value: float) -> str:
    whole = int(value)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def parse_transcript(text: str, budget: int, fmt: str) -> Parsed:
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=fmt)
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise UnreadableFile(f"not a valid {fmt.upper()} transcript: {exc}") from exc
    meta: dict[str, object] = {}
    for comment in getattr(captions, "header_comments", None) or []:
        if re.match(r"^\s*\w+\s*:", comment):
            meta = parse_yaml_mapping(comment, "the NOTE metadata block")
            break

    cues: list[tuple[float, float, str | None, str]] = []
    for caption in captions.captions:
        body = " ".join(line.strip() for line in caption.text.split("\n") if line.strip())
        if not body or _SOUND.match(body):
            continue
        speaker = getattr(caption, "voice", None)
        match = _SPEAKER.match(body)
        if speaker is None and match:
            speaker, body = match.group(1), match.group(2)
        body = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*", " ", body).strip() or body
        cues.append((seconds(caption.start), seconds(caption.end), speaker, body))
    if not cues:
        raise UnreadableFile(f"the {fmt.upper()} transcript has no spoken cues")

    chunks: list[ChunkInput] = []
    window: list[tuple[float, float, str | None, str]] = []

    def flush() -> None:
        if not window:
            return
        lines: list[str] = []
        line_starts: list[float] = []  # when each line (a speaker's turn) begins
        last_speaker: str | None = None
        for cue_start, _, speaker, body in window:
            if lines and speaker == last_speaker:
                lines[-1] += " " + body
            else:
                lines.append(f"{speaker}: {body}" if speaker else body)
                line_starts.append(cue_start)
            last_speaker = speaker
        start, end = window[0][0], window[-1][1]
        speakers = sorted({s for _, _, s, _ in window if s})
        label = f"{clock(start)}-{clock(end)}"
        detail = {"start": start, "end": end, "speakers": speakers, "line_starts": line_starts}
        chunks.append(ChunkInput("", "\n".join(lines), Location(label, f"t={int(start)}", detail)))
        window.clear()

    size = 0
    for cue in cues:
        cost = estimate_tokens(cue[3])
        if window and (cue[0] - window[0][0] >= WINDOW_SECONDS or size + cost > budget):
            flush()
            size = 0
        window.append(cue)
        size += cost
    flush()
    return Parsed("transcript", chunks, meta, None)
