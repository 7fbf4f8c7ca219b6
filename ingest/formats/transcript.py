"""Transcripts (WebVTT, including Zoom exports, and SubRip): cues grouped into ~1 minute windows,
neighbouring windows packed together up to the budget (a chunk covers their whole time range).

Parsing is webvtt-py's. A leading NOTE block of `key: value` lines is read as metadata.
Zoom writes the speaker as "Name: text"; WebVTT voice tags (<v Name>) are read too.
Sound cues such as "(air whooshing)" or "[music]" are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from ingest.chunking import TokenCounter, estimate_tokens, piece_cost, runs
from ingest.errors import UnreadableFile
from ingest.formats.parsed import Parsed
from ingest.metadata import parse_yaml_mapping
from kb.types import ChunkInput, Location, Place

WINDOW_SECONDS = 60.0
Cue = tuple[float, float, str | None, str]  # start, end (seconds), speaker, words
# "Mei Lin: ...", or a Chinese name (two to four characters, or a transliterated one with
# ·) before a full-width colon or a plain one ("林佳慧：...", "王磊: ...").
_NAME = (
    r"(?:[A-Z][\w.'\-]*)(?: [A-Z][\w.'\-]*){0,3}"
    r"|[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]+·[\u4e00-\u9fff]+"
)
_SPEAKER = re.compile(rf"^({_NAME})(?::\s+|：\s*)(.+)$", re.DOTALL)
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


def parse_transcript(
    text: str, budget: int, fmt: str, count_tokens: TokenCounter = estimate_tokens
) -> Parsed:
    """A transcript's decoded `text` in `fmt` ("vtt" or "srt", webvtt-py's names; the registry
    passes it by suffix) to chunks of about a minute of cues, neighbouring minutes packed up to
    `budget` tokens by `count_tokens` (`cue_chunks`).

    Returns `Parsed` of type "transcript": `meta` is the first NOTE block that reads as
    `key: value` lines (VTT only), no title, no properties, no `rechunk`. Chunks have no
    heading; the body is a line per speaker's turn ("Name: words", or the words alone), sound
    cues and bracketed asides dropped; the `Location` is the time range `00:01:00-00:04:03`,
    anchor `t=<start in whole seconds>`, detail {"start", "end" (seconds), "speakers",
    "line_starts"}. A cue is never split, so one longer than the budget is a chunk over it
    (the pipeline splits that one). Chunks are the same for the same text, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, when
    webvtt-py cannot parse the text as `fmt`, when no spoken cue is left, and when the NOTE
    block is not a YAML mapping.
    """
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=fmt)
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise UnreadableFile(f"not a valid {fmt.upper()} transcript: {exc}") from exc
    meta: dict[str, object] = {}
    for comment in getattr(captions, "header_comments", None) or []:
        if re.match(r"^\s*\w+\s*:", comment):
            meta = parse_yaml_mapping(comment, "the NOTE metadata block")
            break

    cues: list[Cue] = []
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

    return Parsed("transcript", cue_chunks(cues, budget, count_tokens), meta, None)


def cue_chunks(
    cues: Sequence[Cue], budget: int, count_tokens: TokenCounter = estimate_tokens
) -> list[ChunkInput]:
    """Timed lines (transcript cues, chat messages) in windows of about a minute, neighbouring
    windows packed up to the budget; each chunk names its time range and speakers, and keeps
    each cue's place (`cue_location`) where it holds several, so that a hit forty minutes
    into a chunk points at minute forty."""
    cost = piece_cost(count_tokens)
    fixed = count_tokens("")

    def text_of(cues: Sequence[Cue]) -> tuple[str, list[float], list[int]]:
        """The lines (one per speaker's turn), when each begins, and where each cue begins
        in the text (at its speaker's name when it opens a turn)."""
        lines: list[str] = []
        line_starts: list[float] = []
        offsets: list[int] = []
        size = 0  # the length of the lines so far, joined
        last_speaker: str | None = None
        for cue_start, _, speaker, body in cues:
            if lines and speaker == last_speaker:
                offsets.append(size + 1)
                lines[-1] += " " + body
                size += 1 + len(body)
            else:
                size += 1 if lines else 0
                offsets.append(size)
                lines.append(f"{speaker}: {body}" if speaker else body)
                line_starts.append(cue_start)
                size += len(lines[-1])
            last_speaker = speaker
        return "\n".join(lines), line_starts, offsets

    # Windows of about a minute (fewer cues if those overflow the budget)...
    windows: list[list[Cue]] = [[]]
    size = 0
    for cue in cues:
        cue_cost = cost(cue[3]) + 2  # the speaker's name and colon, when the turn changes
        window = windows[-1]
        if window and (cue[0] - window[0][0] >= WINDOW_SECONDS or size + cue_cost > budget):
            windows.append([])
            size = 0
        windows[-1].append(cue)
        size += cue_cost

    # ...then neighbouring windows packed together up to the budget.
    def fits(run: Sequence[list[Cue]]) -> bool:
        return fixed + cost(text_of([c for w in run for c in w])[0]) <= budget

    chunks: list[ChunkInput] = []
    for run in runs(windows, fits):
        window = [cue for w in run for cue in w]
        body, line_starts, offsets = text_of(window)
        start, end = window[0][0], window[-1][1]
        speakers = sorted({s for _, _, s, _ in window if s})
        label = f"{clock(start)}-{clock(end)}"
        detail = {"start": start, "end": end, "speakers": speakers, "line_starts": line_starts}
        places = (
            tuple(Place(at, cue_location(cue)) for at, cue in zip(offsets, window, strict=True))
            if len(window) > 1
            else ()
        )
        location = Location(label, f"t={int(start)}", detail)
        chunks.append(ChunkInput("", body, location, places=places))
    return chunks


def cue_location(cue: Cue) -> Location:
    """One cue's (or chat message's) own place: `00:40:02` (`00:40:02-00:40:05` for a cue
    that lasts), anchor `t=<start in whole seconds>`, detail {"start", "end"}."""
    start, end = cue[0], cue[1]
    label = clock(start) if clock(end) == clock(start) else f"{clock(start)}-{clock(end)}"
    return Location(label, f"t={int(start)}", {"start": start, "end": end})
