"""Zoom chat logs (.txt): recognised by their shape, chunked in time windows like transcripts.

Zoom saves a meeting's chat as lines of `HH:MM:SS From NAME to Everyone: message`; newer
clients put the message on the lines below, indented (`HH:MM:SS From NAME to Everyone:`, then
`<tab>message`), older ones write `HH:MM:SS From NAME : message`. A `.txt` file is read as a
chat log when its first line is such a line and at least half of its unindented lines are;
other text files stay plain text.

Messages sent privately (`to NAME(Direct Message)`, `to NAME(Privately)`) are left out: they
were never the room's. Reactions ("Reacted to ... with 👍") are dropped as noise. A line of a
recognised chat log that is neither a message, nor the indented continuation of one, nor
blank makes the file fail with those lines named, rather than losing them silently.
"""

from __future__ import annotations

import re

from ingest.chunking import TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.parsed import Parsed
from ingest.formats.plaintext import FRONT_MATTER, parse_plaintext
from ingest.formats.transcript import Cue, cue_chunks, seconds
from ingest.metadata import parse_yaml_mapping

# "10:02:13 From Mei Lin to Everyone: text" (the message may follow on indented lines).
_TO = re.compile(
    r"^(?P<time>\d{1,2}:\d{2}:\d{2})\s+From\s+(?P<name>.+?)\s+to\s+(?P<to>[^:]+?)\s*:"
    r"(?:[ \t]+(?P<text>.*))?$"
)
# "00:10:05	 From  Mei Lin : text" (older clients: no recipient).
_OLD = re.compile(r"^(?P<time>\d{1,2}:\d{2}:\d{2})\s+From\s+(?P<name>.+?)\s*:[ \t]+(?P<text>.*)$")
_PUBLIC = re.compile(r"^(everyone|所有人)\b", re.IGNORECASE)
_REACTION = re.compile(r'^(Reacted to|Removed a .* reaction from) ".*"', re.DOTALL)
_SHOWN_LINES = 3


def _message(line: str) -> re.Match[str] | None:
    return _TO.match(line) or _OLD.match(line)


def _split(text: str) -> tuple[str | None, str, int]:
    """The `---` front matter (or None), the text after it, and how many lines it took."""
    front = FRONT_MATTER.match(text)
    if not front:
        return None, text, 0
    return front.group(1), text[front.end() :], front.group(0).count("\n")


def is_chat_log(text: str) -> bool:
    """Whether a text file has a Zoom chat log's shape (see the module's docstring)."""
    _, body, _ = _split(text)
    lines = [line for line in body.split("\n") if line.strip() and not line[:1].isspace()]
    if not lines or _message(lines[0]) is None:
        return False
    return sum(1 for line in lines if _message(line)) * 2 >= len(lines)


def parse_chat(text: str, budget: int, count_tokens: TokenCounter = estimate_tokens) -> Parsed:
    """A Zoom chat log's decoded `text` (see the module's docstring; `is_chat_log` says
    whether a text has that shape, this does not ask) to chunks of about a minute of messages,
    neighbouring minutes packed up to `budget` tokens by `count_tokens` (`cue_chunks`).

    Returns `Parsed` of type "chat": `meta` is the optional `---` front matter, no title, no
    properties, no `rechunk`. Chunks have no heading; the body is a line per turn ("Name:
    message"); the `Location` is the time range `10:02:11-10:14:03`, anchor `t=<seconds>`,
    detail {"start", "end", "speakers", "line_starts"}. A message is never split, so one
    longer than the budget is a chunk over it (the pipeline splits that one). Chunks are the
    same for the same text, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    lines that are neither messages nor indented below one (the first three named), a log with
    no public message left once private messages and reactions are dropped, and front matter
    that is not a YAML mapping.
    """
    front, body, offset = _split(text)
    meta = parse_yaml_mapping(front, "the front matter") if front is not None else {}
    # (start, speaker, public, lines) per message, in the order written.
    messages: list[tuple[float, str, bool, list[str]]] = []
    unparsed: list[tuple[int, str]] = []
    for number, line in enumerate(body.split("\n"), start=offset + 1):
        if not line.strip():
            continue
        match = _message(line)
        if match is not None:
            to = match.groupdict().get("to")
            public = to is None or bool(_PUBLIC.match(to.strip()))
            first = (match.group("text") or "").strip()
            messages.append(
                (seconds(match.group("time")), match.group("name").strip(), public, [first])
            )
        elif line[:1].isspace() and messages:
            messages[-1][3].append(line.strip())
        else:
            unparsed.append((number, line.strip()))
    if unparsed:
        shown = "; ".join(f"line {n}: {line[:60]!r}" for n, line in unparsed[:_SHOWN_LINES])
        more = f" and {len(unparsed) - _SHOWN_LINES} more" if len(unparsed) > _SHOWN_LINES else ""
        raise UnreadableFile(
            f"a Zoom chat log with {len(unparsed)} line(s) that are not chat messages "
            f"('HH:MM:SS From NAME to Everyone: message', or indented below one): {shown}{more}; "
            "fix or remove them"
        )
    cues: list[Cue] = []
    for start, speaker, public, lines in messages:
        words = " ".join(line for line in lines if line)
        if public and words and not _REACTION.match(words):
            cues.append((start, start, speaker, words))
    if not cues:
        raise UnreadableFile("the Zoom chat log has no messages to everyone")
    return Parsed("chat", cue_chunks(cues, budget, count_tokens), meta, None)


def parse_text_file(text: str, budget: int, count_tokens: TokenCounter = estimate_tokens) -> Parsed:
    """A .txt file's decoded `text`: `parse_chat` when `is_chat_log` finds a Zoom chat log's
    shape, else `parse_plaintext`, with the same `budget` and `count_tokens`; it returns and
    raises what the one chosen does. The choice depends on the text alone.
    """
    if is_chat_log(text):
        return parse_chat(text, budget, count_tokens)
    return parse_plaintext(text, budget, count_tokens)
