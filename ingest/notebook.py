"""Jupyter notebooks: markdown and code cells with their text outputs, grouped into chunks.

Images and other binary outputs are dropped (base64 is noise for search and can be
megabytes); long text outputs are truncated. A chunk's location is its 1-based cell range.
"""

from __future__ import annotations

import json
from typing import Any

from ingest.chunking import estimate_tokens, split_to_budget
from ingest.errors import UnreadableFile
from ingest.parsed import Parsed
from kb.types import ChunkInput, Location

MAX_OUTPUT_CHARS = 600


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


def parse_notebook(text: str, budget: int) -> Parsed:
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
    heading = ""
    chunks: list[ChunkInput] = []
    group: list[str] = []
    group_cells: list[int] = []
    group_size = 0

    def flush() -> None:
        nonlocal group, group_cells, group_size
        if group:
            first, last = group_cells[0], group_cells[-1]
            label = f"cell {first}" if first == last else f"cells {first}-{last}"
            location = Location(label, f"cell-{first}", {"cell": first, "end_cell": last})
            chunks.append(ChunkInput(heading, "\n\n".join(group), location))
        group, group_cells, group_size = [], [], 0

    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input"))).strip()
        if kind in ("markdown", "heading"):
            for line in source.splitlines():
                if line.startswith("#"):
                    flush()
                    name = line.lstrip("#").strip()
                    heading = name
                    break
            content = source
        elif kind == "code":
            outputs = _outputs(cell)
            content = f"```python\n{source}\n```" if source else ""
            if outputs:
                content += f"\nOutput:\n{outputs}"
        else:
            continue
        if not content.strip():
            continue
        room = budget - estimate_tokens(heading)
        cost = estimate_tokens(content)
        if cost > room:
            flush()
            for piece in split_to_budget(content, room):
                group, group_cells = [piece], [number]
                flush()
            continue
        if group and group_size + cost > room:
            flush()
        group.append(content)
        group_cells.append(number)
        group_size += cost
    flush()
    if not chunks:
        raise UnreadableFile("the notebook has no cells with text or code")
    return Parsed("notebook", chunks, meta, title)
