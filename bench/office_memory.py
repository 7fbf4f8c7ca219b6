"""Peak memory of reading large Office files: each file parsed in a fresh interpreter that
reports its own peak resident memory (VmHWM), by kb's readers (a .docx body and each .pptx
slide streamed) and, for the decks, by python-pptx as the reader used it before (the whole
package built in memory, then every slide walked), with the time each took.

Run: .venv/bin/python bench/office_memory.py

Writes bench/results/office_memory.json. The files are made by tests/hostile_office.py (small
zips whose slides or document unpack to tens of megabytes of paragraphs) in a temporary
folder; the part limit is raised where a part is over the default 25 MB, so that the file is
read, not refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import ROOT, save  # noqa: E402

from tests.hostile_office import deck_file, word_file  # noqa: E402

MB = 1024 * 1024

PARSE = """
import io, json, sys, time
from pathlib import Path
path, how, part_mb = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
data = path.read_bytes()
started = time.perf_counter()
said = ""
if how == "kb":
    from ingest.formats.registry import parse_bytes
    from ingest.reading import ReadLimits
    try:
        parsed = parse_bytes(data, path.suffix, 200, limits=ReadLimits(
            max_part_bytes=part_mb * 1024 * 1024, max_seconds=600))
        said = f"read: {len(parsed.chunks)} chunks"
    except Exception as exc:
        said = f"refused: {exc}"
elif how == "baseline":
    from ingest.formats.registry import parse_bytes
    import pptx, docx, lxml.etree
    said = "imports only"
else:  # python-pptx, as the reader used it before
    from pptx import Presentation
    deck = Presentation(io.BytesIO(data))
    words = sum(len(p.text) for s in deck.slides for sh in s.shapes if sh.has_text_frame
                for p in sh.text_frame.paragraphs)
    said = f"read: {words} characters"
seconds = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024
print(json.dumps({"said": said[:200], "peak_mb": peak, "seconds": round(seconds, 2)}))
"""


def measure(path: Path, how: str, part_mb: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(path), how, str(part_mb)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    cases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kb-office-memory-") as tmp:
        folder = Path(tmp)
        files = [
            ("one slide of 40 MB", folder / "one.pptx", lambda p: deck_file(p, 1, 40 * MB), 64),
            ("8 slides of 10 MB", folder / "eight.pptx", lambda p: deck_file(p, 8, 10 * MB), 25),
            ("24 slides of 5 MB", folder / "many.pptx", lambda p: deck_file(p, 24, 5 * MB), 25),
            ("document.xml of 40 MB", folder / "long.docx", lambda p: word_file(p, 40 * MB), 64),
        ]
        baseline = None
        for name, path, make, part_mb in files:
            make(path)
            if baseline is None:
                baseline = measure(path, "baseline", part_mb)
            row: dict[str, Any] = {
                "file": name,
                "zip_kb": path.stat().st_size // 1024,
                "part_limit_mb": part_mb,
                "kb": measure(path, "kb", part_mb),
            }
            if path.suffix == ".pptx":
                row["python_pptx_whole"] = measure(path, "python-pptx", part_mb)
            cases.append(row)
            print(json.dumps(row), flush=True)
    save("office_memory", {"baseline_interpreter": baseline, "cases": cases})


if __name__ == "__main__":
    main()
