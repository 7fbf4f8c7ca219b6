"""Slack workspace exports (Workspace settings > Import/Export data > Export; Slack's help
page "How to read Slack data exports").

The zip holds `channels.json` (each public channel: `id`, `name`, `created`, `topic`,
`purpose`), `users.json` (each member: `id`, `team_id`, `name`, `real_name`, `profile`), and a
folder per channel named after it with one JSON file per day (`general/2024-03-05.json`): a
list of messages, each with `ts` (its time and, within the channel, its id), `user`, `text`
(in Slack's markup: `<@U123>`, `<#C123|general>`, `<https://...|label>`, HTML entities),
`subtype` for joins, topics and bots, `thread_ts` on a thread's parent and replies, and
`files` (id, name, title, mimetype). Slack's own export holds no files, only links that need
a token; a file the archive does hold, at `__uploads/<file id>/<name>` (where exporters such
as slackdump put them), is ingested when its format is one the knowledge base reads.

A thread is one document (`<channel id>/thread-<thread ts>`), its parent and replies from
whichever days they were written on; a channel's messages outside threads are a document per
day (`<channel id>/<day>`), both chunked as chat logs are (`cue_chunks`: about a minute of
messages, neighbouring minutes packed up to the budget). Each chunk's location names its
day and time range (UTC) and speakers, anchor `ts=<first message's ts>`; each message keeps
its own place (`2024-03-05 10:02:13 Mei Lin`, `ts=<its ts>`). A thread's title is its channel
and the start of its first message (`#general: Has anyone set up...`). The channel is a tag
(`channel:general`), so search can filter on it. Joins, leaves, topic and purpose changes
are left out; private channels, direct messages (`groups.json`, `dms.json`, `mpims.json`)
are not read.

The space is the workspace's team id (`users.json`'s `team_id`), else the archive's name.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from ingest.chunking import TokenCounter
from ingest.exports.base import Archive, Export, ExportItem, ExportRefused, top_folder, wrong_shape
from ingest.formats.parsed import Parsed
from ingest.formats.registry import SUPPORTED
from ingest.formats.transcript import Cue, cue_chunks
from kb.types import ChunkInput, Location, Place

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_SKIPPED_SUBTYPES = frozenset(
    {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
     "channel_archive", "channel_unarchive", "group_join", "group_leave", "pinned_item"}
)  # fmt: skip
_MENTION = re.compile(r"<@(?P<id>[A-Z0-9]+)(?:\|(?P<name>[^>]*))?>")
_CHANNEL = re.compile(r"<#(?P<id>[A-Z0-9]+)(?:\|(?P<name>[^>]*))?>")
_SPECIAL = re.compile(r"<!(?P<what>here|channel|everyone)(?:\|[^>]*)?>")
_URL = re.compile(r"<(?P<url>[a-z][a-z0-9+.-]*:[^|>]*)(?:\|(?P<label>[^>]*))?>")


def recognise(names: list[str], archive: Archive) -> bool:
    """A Slack export: `channels.json` and `users.json` at its top."""
    top = top_folder(names)
    prefix = f"{top}/" if top else ""
    return f"{prefix}channels.json" in archive.entries and f"{prefix}users.json" in archive.entries


@dataclass(frozen=True)
class _Message:
    ts: str
    speaker: str
    text: str
    files: tuple[str, ...] = ()  # archive entries of files it shared

    @property
    def seconds(self) -> float:
        return float(self.ts)


def _plain(text: str, users: dict[str, str], channels: dict[str, str]) -> str:
    """Slack's markup as people read it: @names, #channels, link labels, entities decoded."""
    text = _MENTION.sub(lambda m: "@" + (users.get(m["id"]) or m["name"] or m["id"]), text)
    text = _CHANNEL.sub(lambda m: "#" + (m["name"] or channels.get(m["id"]) or m["id"]), text)
    text = _SPECIAL.sub(lambda m: "@" + m["what"], text)
    text = _URL.sub(lambda m: f"{m['label']} ({m['url']})" if m["label"] else m["url"], text)
    return html.unescape(text).strip()


def _stamp(seconds: float, with_seconds: bool = True) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _day(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()


def chat_chunks(
    messages: list[dict[str, Any]], budget: int, count_tokens: TokenCounter
) -> list[ChunkInput]:
    """Messages (`ts`, `speaker`, `text`, in order) chunked as chat logs are (`cue_chunks`),
    their locations in wall-clock time (UTC) with each message's `ts` as its anchor."""
    base = float(messages[0]["ts"])
    cues: list[Cue] = [
        (float(m["ts"]) - base, float(m["ts"]) - base, m["speaker"], m["text"]) for m in messages
    ]
    chunks = cue_chunks(cues, budget, count_tokens)
    result: list[ChunkInput] = []
    at = 0  # the index of each chunk's first message
    for chunk in chunks:
        held = max(1, len(chunk.places))
        own = messages[at : at + held]
        at += held
        start, end = float(own[0]["ts"]), float(own[-1]["ts"])
        first, last = _stamp(start, False), _stamp(end, False)
        label = (
            first
            if first == last
            else (f"{first}-{last[11:]}" if first[:10] == last[:10] else f"{first} - {last}")
        )
        detail = dict(chunk.location.detail)
        detail.update({"start": start, "end": end, "ts": own[0]["ts"]})
        places = (
            tuple(
                Place(
                    place.start,
                    Location(
                        f"{_stamp(float(m['ts']))} {m['speaker']}",
                        f"ts={m['ts']}",
                        {"start": float(m["ts"]), "end": float(m["ts"]), "speaker": m["speaker"]},
                    ),
                )
                for place, m in zip(chunk.places, own, strict=True)
            )
            if chunk.places
            else ()
        )
        location = Location(label, f"ts={own[0]['ts']}", detail)
        result.append(replace(chunk, location=location, places=places))
    return result


def parse_messages(data: bytes, budget: int, count_tokens: TokenCounter) -> Parsed:
    """A thread's or a channel day's messages, as `read()` serialised them, to chat chunks."""
    record = json.loads(data)
    return Parsed("chat", chat_chunks(record["messages"], budget, count_tokens))


def _list_of_objects(archive: Archive, name: str) -> list[dict[str, Any]]:
    value = archive.json(name)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise wrong_shape(archive, name, "a list of JSON objects, as Slack writes it")
    return value


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read(archive: Archive) -> Export:
    """The export's threads and channel days (see the module's docstring)."""
    names = archive.names()
    top = top_folder(names)
    prefix = f"{top}/" if top else ""
    users_list = _list_of_objects(archive, f"{prefix}users.json")
    channel_list = _list_of_objects(archive, f"{prefix}channels.json")
    users: dict[str, str] = {}
    for user in users_list:
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
        assert isinstance(profile, dict)
        name = (
            _text_of(profile.get("display_name"))
            or _text_of(user.get("real_name"))
            or _text_of(profile.get("real_name"))
            or _text_of(user.get("name"))
        )
        if isinstance(user.get("id"), str):
            users[user["id"]] = name or user["id"]
    teams = Counter(u["team_id"] for u in users_list if isinstance(u.get("team_id"), str))
    space = teams.most_common(1)[0][0] if teams else PurePosixPath(archive.name).stem
    channels: dict[str, str] = {}  # folder name -> id
    channel_names: dict[str, str] = {}  # id -> name
    for channel in channel_list:
        cid, cname = channel.get("id"), channel.get("name")
        if isinstance(cid, str) and isinstance(cname, str):
            channels[cname] = cid
            channel_names[cid] = cname
    export = Export("slack", space, archive.name, space_title=space)
    uploads: dict[str, str] = {}  # file id -> its entry in the archive
    for name in names:
        parts = PurePosixPath(name.removeprefix(prefix)).parts
        if len(parts) == 3 and parts[0] == "__uploads":
            uploads.setdefault(parts[1], name)

    for cname in sorted(channels):
        cid = channels[cname]
        days = [
            n for n in names
            if PurePosixPath(n).parent == PurePosixPath(f"{prefix}{cname}")
            and _DAY.match(PurePosixPath(n).name)
        ]  # fmt: skip
        threads: dict[str, list[_Message]] = {}
        loose: dict[str, list[_Message]] = {}  # day -> messages outside threads
        entries: dict[str, str] = {}  # document key -> the first entry it came from
        for day_entry in sorted(days):
            for raw in _list_of_objects(archive, day_entry):
                if raw.get("subtype") in _SKIPPED_SUBTYPES:
                    continue
                ts, thread_ts = raw.get("ts"), raw.get("thread_ts")
                if not isinstance(ts, str):
                    raise wrong_shape(archive, day_entry, "Slack messages (one has no ts)")
                try:
                    seconds = float(ts)
                    if not isinstance(thread_ts, str):
                        thread_ts = None
                    elif thread_ts:
                        float(thread_ts)
                    _day(seconds)
                except (ValueError, OverflowError, OSError):
                    raise wrong_shape(
                        archive, day_entry, f"Slack messages (a ts of {ts!r} is not a time)"
                    ) from None
                sent_by = raw.get("user")
                speaker = users.get(sent_by, "") if isinstance(sent_by, str) else ""
                sender = raw.get("user_profile")
                if not speaker and isinstance(sender, dict):
                    speaker = _text_of(sender.get("real_name"))
                speaker = speaker or _text_of(raw.get("username")) or _text_of(sent_by) or "unknown"
                text = _plain(_text_of(raw.get("text")), users, channel_names)
                shared: list[str] = []
                files = raw.get("files") if isinstance(raw.get("files"), list) else []
                assert isinstance(files, list)
                for file in files:
                    if not isinstance(file, dict):
                        continue
                    fname = _text_of(file.get("name")) or _text_of(file.get("title"))
                    if fname:
                        text = f"{text} [file: {fname}]".strip()
                    entry = uploads.get(_text_of(file.get("id")))
                    if entry and PurePosixPath(entry).suffix.lower() in SUPPORTED:
                        shared.append(entry)
                if not text:
                    continue
                message = _Message(ts, speaker, text, tuple(shared))
                threaded = thread_ts is not None and (
                    thread_ts != ts or bool(raw.get("reply_count") or raw.get("replies"))
                )
                if threaded:
                    assert thread_ts is not None
                    key = f"{cid}/thread-{thread_ts}"
                    threads.setdefault(thread_ts, []).append(message)
                else:
                    key = f"{cid}/{_day(seconds)}"
                    loose.setdefault(_day(seconds), []).append(message)
                entries.setdefault(key, archive.shown(day_entry))

        def add(
            key: str,
            path: str,
            title: str,
            messages: list[_Message],
            cname: str = cname,
            entries: dict[str, str] = entries,
        ) -> None:
            """The document of `messages` (a thread, a day), and the files they shared."""
            messages = sorted(messages, key=lambda m: m.seconds)
            record = {
                "channel": cname,
                "messages": [{"ts": m.ts, "speaker": m.speaker, "text": m.text} for m in messages],
            }
            data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
            trail: tuple[str, ...] = ()  # the title names the channel
            meta = {"tags": [f"channel:{cname}"], "date": _day(messages[-1].seconds)}
            export.items.append(
                ExportItem(
                    key=key,
                    path=path,
                    title=title,
                    suffix=".json",
                    read=_constant(data),
                    entry=entries[key],
                    trail=trail,
                    meta=meta,
                    parse=parse_messages,
                    modified=_day(messages[-1].seconds),
                )
            )
            for message in messages:
                for entry in message.files:
                    file_name = PurePosixPath(entry).name
                    export.items.append(
                        ExportItem(
                            key=f"{key}/file-{PurePosixPath(entry).parent.name}",
                            path=f"{path}/{file_name}",
                            title="",
                            suffix=PurePosixPath(entry).suffix.lower(),
                            read=archive.reader(entry),
                            entry=archive.shown(entry),
                            trail=(*trail, title),
                            meta={"tags": [f"channel:{cname}"]},
                            modified=archive.day(entry),
                        )
                    )

        for thread_ts, messages in sorted(threads.items()):
            opening = min(messages, key=lambda m: m.seconds)
            words = " ".join(opening.text.split())
            title = f"#{cname}: {words[:60]}{'…' if len(words) > 60 else ''}"
            add(f"{cid}/thread-{thread_ts}", f"#{cname}/thread-{thread_ts}", title, messages)
        for day, messages in sorted(loose.items()):
            add(f"{cid}/{day}", f"#{cname}/{day}", f"#{cname} {day}", messages)
    if not export.items and not channels:
        raise ExportRefused(
            f"{archive.name} is a Slack export with no public channels in channels.json; "
            "nothing was ingested"
        )
    return export
