"""What hostile or heavy inputs cost `kb ingest` (issue 8): a 2,001-entry zip, a YAML alias
bomb and 20,000-deep nesting in front matter, each beside a good file.

Each case runs the real command line (`kb ingest`, default model) in a fresh home, so the
figures include starting Python and loading the model (when something is embedded); the
ingest's own time, from its summary line, is `median_ingest_s`. `--tree DIR` measures
another checkout of the project (e.g. a `git worktree` of an older commit) with the same
inputs, side by side; `--timeout` bounds each run (a run cut off is reported as such).

    .venv/bin/python bench/hostile_inputs.py [--rounds 3] [--tree DIR] [--label NAME]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, save  # noqa: E402

DEEP = "[" * 20000 + "]" * 20000
GOOD = "# Label smoothing\n\n## Lesson\n\nLabel smoothing calmed the overconfident head.\n"


def many_entries(pairs: int) -> bytes:
    """`pairs` empty .txt entries (read, then refused), `pairs` .bin entries (skipped unread)
    and one real document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for i in range(pairs):
            zf.writestr(f"empty/{i:05d}.txt", "")
            zf.writestr(f"other/{i:05d}.bin", b"\x00")
        zf.writestr("real/smoothing.md", GOOD)
    return buffer.getvalue()


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["tags: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    lines.append(f"skills: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def front_matter(yaml_text: str) -> str:
    return f"---\n{yaml_text}---\n\n# Hostile\n\nA short body about gradient clipping.\n"


def make_cases(folder: Path, pairs: int) -> dict[str, Path]:
    cases: dict[str, Path] = {}
    small = folder / "small.zip"
    with zipfile.ZipFile(small, "w") as zf:
        zf.writestr("real/smoothing.md", GOOD)
    cases["zip, 1 entry"] = small
    big = folder / "big.zip"
    big.write_bytes(many_entries(pairs))
    cases[f"zip, {2 * pairs + 1:,} entries"] = big
    for name, text in (
        ("alias bomb in front matter", front_matter(alias_bomb())),
        ("20,000-deep nesting in front matter", front_matter(f"title: {DEEP}\n")),
    ):
        case = folder / name.split()[0]
        case.mkdir()
        (case / "good.md").write_text(GOOD)
        (case / "hostile.md").write_text(text)
        cases[name] = case
    return cases


def run_ingest(tree: Path, target: Path, home: Path, timeout: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", "from api.cli import main; main()"]
    command += ["--home", str(home), "ingest", str(target)]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "exit": None, "cut_off_after_s": timeout}
    seconds = time.perf_counter() - start
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:]
    line = last[0] if last else ""
    own = re.search(r", ([0-9.]+)s\)$", line)  # the ingest's own time, in its summary line
    return {
        "seconds": seconds,
        "ingest_s": float(own.group(1)) if own else None,
        "exit": done.returncode,
        "last_line": line,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=1000, help="entries = 2 * pairs + 1")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--label", default="current")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cases = make_cases(Path(tmp), args.pairs)
        for number, (name, target) in enumerate(cases.items()):
            runs = []
            for round_ in range(args.rounds):
                home = Path(tmp) / f"home-{number}-{round_}"
                runs.append(run_ingest(args.tree.resolve(), target, home, args.timeout))
                if runs[-1]["seconds"] is None:
                    break  # cut off: another round would only be cut off again
            timed = [r["seconds"] for r in runs if r["seconds"] is not None]
            own = [r["ingest_s"] for r in runs if r.get("ingest_s") is not None]
            results[name] = {
                "median_s": round(statistics.median(timed), 2) if len(timed) == len(runs) else None,
                "median_ingest_s": statistics.median(own) if len(own) == len(runs) else None,
                "runs": runs,
            }
            print(f"{name}: {results[name]['median_s']} s", flush=True)
    big = next(k for k in results if k.startswith("zip, ") and k != "zip, 1 entry")
    base, heavy = results["zip, 1 entry"]["median_s"], results[big]["median_s"]
    if base is not None and heavy is not None:
        results["entries cost (big zip minus 1-entry zip), s"] = round(heavy - base, 2)
    save(f"hostile_inputs_{args.label}", {"tree": args.label, "rounds": args.rounds, **results})


if __name__ == "__main__":
    main()
