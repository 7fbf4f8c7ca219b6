"""Jupyter notebooks: markdown and code cells with their text outputs, grouped into chunks.

Runs of cells under the same H1 are packed up to the budget; a chunk's heading is the
heading path its cells share, the headings below it stay in the cells' text. A cell too
long for the budget is split and stands alone.

Images and other binary outputs are dropped (base64 is noise for search and can be
megabytes); long text outputs are truncated. A chunk's location is its 1-based cell range.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.chunking import (
    HeadingPath,
    TokenCounter,
    estimate_tokens,
    find_places,
    piece_cost,
    runs,
    shared_path,
    split_to_budget,
)
from ingest.errors import UnreadableFile
from ingest.formats.parsed import Parsed
from kb.types import ChunkInput, Location

MAX_OUTPUT_CHARS = 600
# Whether the dense side embeds code cells' outputs too (they are always indexed for their
# words). Decided on the labelled queries by bench/dense_text.py: see docs/benchmarks.md.
EMBED_OUTPUTS = False
# Cells packed together share their headings down to this level (as in Markdown).
MERGE_LEVEL = 1


@dataclass(frozen=True)
class _Piece:
    """A cell's text (or part of a long cell's: `whole` False), under its heading path."""

    number: int  # 1-based cell number
    path: tuple[tuple[int, str], ...]  # (level, title) of the headings above it
    text: str
    whole: bool = True
    dense: str | None = None  # what the dense side embeds of it, when not all of `text`

    @property
    def heading(self) -> str:
        return " > ".join(name for _, name in self.path)

    @property
    def key(self) -> tuple[tuple[int, str], ...]:
        return tuple((level, name) for level, name in self.path if level <= MERGE_LEVEL)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return "" if value is None else str(value)


def _outputs(cell: dict[str, Any]) -> str:
    parts: list[str] = []
    for output in cell.get("outputs") or []:
        if not isinstance(output, dict):
            continue
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(_text(output.get("text")))
        elif kind in ("execute_result", "display_data", "pyout"):
            data = output.get("data") or {}
            plain = data.get("text/plain") if isinstance(data, dict) else None
            if plain is None:
                plain = output.get("text")  # nbformat 3
            if plain is not None:
                parts.append(_text(plain))
        elif kind in ("error", "pyerr"):
            parts.append(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
    text = "\n".join(part.rstrip() for part in parts if part.strip())
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS].rstrip() + " …[output truncated]"
    return text


def _cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(notebook.get("cells"), list):
        return notebook["cells"]
    worksheets = notebook.get("worksheets")  # nbformat 3
    if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
        cells = worksheets[0].get("cells")
        if isinstance(cells, list):
            return cells
    raise UnreadableFile("not a Jupyter notebook: it has no list of cells (nbformat 4 expected)")


def _cell_location(number: int) -> Location:
    """One cell's own place: where a hit in it points, in a chunk of several cells."""
    return Location(f"cell {number}", f"cell-{number}", {"cell": number, "end_cell": number})


def _heading_of(shared: HeadingPath) -> str:
    return " > ".join(name for _, name in shared)


def _title_of(cells: list[Any]) -> str | None:
    """The first H1 of the notebook, or the first line of its opening markdown cell when that
    reads like a title ("**Chapter 4 - Training Models**")."""
    markdown = [
        _text(c.get("source")).strip()
        for c in cells
        if isinstance(c, dict) and c.get("cell_type") == "markdown"
    ]
    for source in markdown:
        for line in source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    if markdown and markdown[0]:
        first = markdown[0].splitlines()[0].strip().strip("*_#").strip()
        if 0 < len(first) <= 100:
            return first
    return None


def parse_notebook(text: str, budget: int, count_tokens: TokenCounter = estimate_tokens) -> Parsed:
    """A notebook's decoded `text` (its JSON, nbformat 4 or 3) to chunks of at most `budget`
    tokens by `count_tokens`.

    Returns `Parsed` of type "notebook": `meta` is the notebook's `metadata.kb` object (keys
    lower-cased; nothing else of its metadata), `title` its first H1 or the first line of its
    first markdown cell when that is at most 100 characters, no properties, no `rechunk`.
    A chunk's heading is the heading path its cells share; code cells are fenced as Python
    with their text outputs after an `Output:` line. Its `Location` is `cell 4` or `cells 4-9`
    (cells numbered from 1 as the file has them, skipped ones counted), anchor `cell-4`,
    detail {"cell", "end_cell"}; a chunk of several cells keeps each cell's place (`cell 6`,
    `cell-6`), so a hit points at the cell that matches. Chunks fit the budget (a split piece
    is given at least 16 tokens) and are the same for the same text, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    JSON that does not parse (line and column named), JSON that is not an object or has no list
    of cells, and a notebook with no cell holding text or code.
    """
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(
            f"broken notebook: invalid JSON at line {exc.lineno}, column {exc.colno}"
        ) from exc
    if not isinstance(notebook, dict):
        raise UnreadableFile("not a Jupyter notebook: the JSON is not an object")
    cells = _cells(notebook)
    metadata = notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {}
    raw_meta = metadata.get("kb") if isinstance(metadata, dict) else None
    meta = {str(k).lower(): v for k, v in raw_meta.items()} if isinstance(raw_meta, dict) else {}

    title = _title_of(cells)
    cost = piece_cost(count_tokens)
    fixed = count_tokens("")
    path: list[tuple[int, str]] = []
    pieces: list[_Piece] = []  # cells in order; a cell too long for the budget is split
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input"))).strip()
        if kind in ("markdown", "heading"):
            for line in source.splitlines():
                if line.startswith("#"):
                    level = min(len(line) - len(line.lstrip("#")), 6)
                    while path and path[-1][0] >= level:
                        path.pop()
                    path.append((level, line.lstrip("#").strip()))
                    break
            content, dense = source, None
            parts: list[tuple[str, str | None]] = [(content, None)]
        elif kind == "code":
            # Outputs (tables, logs, numbers) are indexed for their words; the dense side
            # embeds the code alone unless EMBED_OUTPUTS (see bench/dense_text.py).
            outputs = _outputs(cell)
            code = f"```python\n{source}\n```" if source else ""
            output = f"Output:\n{outputs}" if outputs else ""
            content = "\n".join(part for part in (code, output) if part)
            dense = None if EMBED_OUTPUTS or not output else code
            parts = [(code, None), (output, "")] if dense is not None else [(content, None)]
        else:
            continue
        if not content.strip():
            continue
        piece = _Piece(number, tuple(path), content, dense=dense)
        if fixed + cost(piece.heading) + cost(content) <= budget:
            pieces.append(piece)
            continue
        room = budget - fixed - cost(piece.heading)
        pieces += [
            _Piece(number, piece.path, part, whole=False, dense=part_dense)
            for text, part_dense in parts
            if text
            for part in split_to_budget(text, room, cost)
        ]

    def render(run: Sequence[_Piece]) -> tuple[str, str]:
        shared = shared_path([p.path for p in run])
        return _heading_of(shared), "\n\n".join(p.text for p in run)

    def dense_of(run: Sequence[_Piece]) -> str | None:
        """What the dense side embeds of the run: None for all of it, "" for nothing."""
        if all(p.dense is None for p in run):
            return None
        return "\n\n".join(p.text if p.dense is None else p.dense for p in run if p.dense != "")

    def fits(run: Sequence[_Piece]) -> bool:
        heading, body = render(run)
        return fixed + cost(heading) + cost(body) <= budget

    def joinable(first: _Piece, piece: _Piece) -> bool:
        return first.whole and piece.whole and first.key == piece.key

    chunks: list[ChunkInput] = []
    for run in runs(pieces, fits, joinable):
        heading, body = render(run)
        first, last = run[0].number, run[-1].number
        label = f"cell {first}" if first == last else f"cells {first}-{last}"
        location = Location(label, f"cell-{first}", {"cell": first, "end_cell": last})
        places = find_places(body, [(p.text, _cell_location(p.number)) for p in run])
        chunks.append(ChunkInput(heading, body, location, dense_of(run), places))
    if not chunks:
        raise UnreadableFile("the notebook has no cells with text or code")
    return Parsed("notebook", chunks, meta, title)
