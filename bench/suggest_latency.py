"""Suggestion latency at 100k chunks: `Suggester.suggest` and `GET /suggest` p50/p95, plus the
build time and size of the index behind them.

The entries are what a 100k-chunk store gives, made from real text: the headings of the shared
d2l chapters (English and Chinese) and of the sample corpus, each in several title-like
variants until there are --titles titles (one per chunk heading at 100k chunks: the worst case,
a store whose every chunk had a title of its own), a tenth of them restricted to a team; the
term pairs mined from the Chinese chapters; the sample catalogue's skills, courses and modules;
and a few thousand past queries made from headings. Chinese entries get their pinyin keys.

Prefixes are what people type: the first 1 to 12 characters of real headings (short ones hit
the widest ranges), the same in pinyin and in initials for Chinese, and word starts.
The HTTP figure goes through the whole app (auth, the viewer's teams from the catalogue,
pydantic) in FastAPI's TestClient, with an employee's key.

Run: .venv/bin/python bench/suggest_latency.py [--titles 100000] [--queries 3000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save, summary_ms  # noqa: E402

from kb.language.mining import MinedGlossary  # noqa: E402
from kb.search.suggest import Entry, Suggester, SuggestIndex, normalise, pinyin_keys  # noqa: E402

CORPORA = [
    Path("/work/shared/corpora/markdown"),
    Path("/work/shared/corpora/markdown-zh"),
    ROOT / "data" / "sample",
]
HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*#*\s*$")
VARIANTS = [
    "{h}",
    "{h}: notes",
    "Hands-on: {h}",
    "{h} in practice",
    "Cheat sheet: {h}",
    "{h} (cohort {n})",
    "Workshop {n}: {h}",
    "{h} - a write-up",
    "{h}：实践笔记",
    "{h} for team {t}",
]
TEAMS = ["nlp", "recsys", "mlops", "support-ai", "platform"]


def real_headings() -> tuple[list[str], list[tuple[str, str]]]:
    """Every heading of the corpora (not code-cell markers), and (source, text) for mining."""
    headings: list[str] = []
    texts: list[tuple[str, str]] = []
    for root in CORPORA:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*.md")):
            text = path.read_text(errors="replace")
            texts.append((path.name, text))
            for line in text.splitlines():
                match = HEADING.match(line)
                if match and not match.group(1).startswith("@"):
                    headings.append(re.sub(r"[*`_]|\{.*?\}", "", match.group(1)).strip())
    return [h for h in dict.fromkeys(headings) if h], texts


def make_entries(titles: int, queries: int, rng: random.Random) -> tuple[list[Entry], list[str]]:
    headings, texts = real_headings()
    entries: list[Entry] = []
    n = 0
    while len(entries) < titles:
        for heading in headings:
            variant = VARIANTS[(n // len(headings)) % len(VARIANTS)]
            text = variant.format(
                h=heading, n=n // (len(headings) * len(VARIANTS)) + 1, t=TEAMS[n % 5]
            )
            restricted = (TEAMS[n % 5],) if n % 10 == 0 else ()
            entries.append(Entry(text, "title", 1.0, restricted))
            n += 1
            if len(entries) == titles:
                break
    mined = MinedGlossary(texts)
    for pair in mined.pairs:
        entries += [
            Entry(pair.chinese, "term", pair.count),
            Entry(pair.english, "term", pair.count),
        ]
    from recommender.catalog.loading import load_catalog_dir

    catalog, _ = load_catalog_dir(ROOT / "data" / "sample" / "catalog")
    entries += [Entry(s.name, "skill") for s in catalog.skills.values()]
    entries += [Entry(c.title, "course") for c in catalog.courses.values()]
    entries += [Entry(m.title, "module") for m in catalog.modules.values()]
    for _ in range(queries):
        heading = rng.choice(headings)
        entries.append(Entry(f"how to {heading.lower()}", "query", rng.randint(2, 30)))
    return entries, headings


def prefixes(headings: list[str], n: int, rng: random.Random) -> list[str]:
    """What people type: real headings' first characters, their pinyin, initials, word starts."""
    typed: list[str] = []
    while len(typed) < n:
        heading = rng.choice(headings)
        norm = normalise(heading).strip()
        kind = rng.random()
        if re.search(r"[\u4e00-\u9fff]", norm) and kind < 0.5:
            keys = pinyin_keys(norm)
            source = keys[0][0] if kind < 0.3 else keys[1][0]  # full pinyin, or initials
        elif kind < 0.7 and " " in norm:
            source = norm[norm.index(" ") + 1 :]  # a later word's start
        else:
            source = norm
        if source:
            typed.append(source[: rng.randint(1, min(12, len(source)))])
    return typed


def time_direct(
    suggester: Suggester, typed: list[str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    times: list[float] = []
    by_length: dict[str, list[float]] = {"1-2": [], "3-5": [], "6+": []}
    for prefix in typed:
        started = time.perf_counter()
        suggester.suggest(prefix, limit=8, teams=("nlp",))
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        bucket = "1-2" if len(prefix) <= 2 else "3-5" if len(prefix) <= 5 else "6+"
        by_length[bucket].append(elapsed)
    return summary_ms(times), {k: summary_ms(v) for k, v in by_length.items() if v}


def time_http(suggester: Suggester, typed: list[str]) -> dict[str, float]:
    import yaml
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.auth import hash_key
    from api.settings import Settings
    from tests.fakes import HashingEmbedder

    keys = {"organiser": "bench-organiser-key-0123456789", "liam": "bench-liam-key-0123456789ab"}
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.yaml"
        keys_file.write_text(
            yaml.safe_dump(
                [
                    {"key_sha256": hash_key(keys["organiser"]), "role": "organiser"},
                    {
                        "key_sha256": hash_key(keys["liam"]),
                        "role": "employee",
                        "employee": "liam-chen",
                    },
                ]
            )
        )
        settings = Settings(home=Path(tmp) / "home", api_keys_file=keys_file)
        app = create_app(settings, embedder=HashingEmbedder())  # /suggest uses no model
        with TestClient(app) as client:
            catalog = ROOT / "data" / "sample" / "catalog"
            parts = [("files", (p.name, p.read_bytes())) for p in sorted(catalog.glob("*.yaml"))]
            loaded = client.put(
                "/catalog", files=parts, headers={"Authorization": f"Bearer {keys['organiser']}"}
            )
            assert loaded.status_code == 200, loaded.text
            index = SuggestIndex(lambda: suggester, lambda: 0)
            index.start().wait()
            app.state.suggestions.wait()
            app.state.suggestions = index
            headers = {"Authorization": f"Bearer {keys['liam']}"}
            for prefix in typed[:50]:  # warm up
                client.get("/suggest", params={"q": prefix}, headers=headers)
            times: list[float] = []
            for prefix in typed:
                started = time.perf_counter()
                response = client.get("/suggest", params={"q": prefix}, headers=headers)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
    return summary_ms(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=3_000, help="past queries suggested")
    parser.add_argument("--prefixes", type=int, default=3_000, help="prefixes timed")
    args = parser.parse_args()
    rng = random.Random(7)
    entries, headings = make_entries(args.titles, args.queries, rng)
    vocabulary = headings
    started = time.perf_counter()
    suggester = Suggester(entries, vocabulary)
    build_s = time.perf_counter() - started
    typed = prefixes(headings, args.prefixes, rng)
    direct, by_length = time_direct(suggester, typed)
    hits = sum(1 for p in typed if suggester.suggest(p, teams=("nlp",)))
    misspelt = ["attension", "convolutinal", "optimisaton", "regularizaton"]
    # pinyin typed for the commonest mined Chinese terms, and one letter short
    han = re.compile(r"[\u4e00-\u9fff]")
    for term in [e.text for e in entries if e.kind == "term" and han.search(e.text)][:3]:
        spelt = pinyin_keys(normalise(term))[0][0]
        misspelt += [spelt, spelt[:-1]]
    started = time.perf_counter()
    meant = {q: suggester.did_you_mean(q) for q in misspelt * 20}
    did_you_mean_ms = (time.perf_counter() - started) / (len(misspelt) * 20) * 1000
    http = time_http(suggester, typed)
    save(
        "suggest_latency",
        {
            "entries": len(suggester),
            "titles": args.titles,
            "chinese_entries": sum(1 for e in entries if re.search(r"[\u4e00-\u9fff]", e.text)),
            "keys": suggester.keys,
            "vocabulary_words": len(suggester.words),
            "build_s": round(build_s, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "prefixes": len(typed),
            "prefixes_with_suggestions": hits,
            "suggest": direct,
            "suggest_by_prefix_length": by_length,
            "http_get_suggest": http,
            "did_you_mean_mean_ms": round(did_you_mean_ms, 3),
            "did_you_mean_examples": meant,
            "goal_p95_ms": 20,
        },
    )


if __name__ == "__main__":
    main()
