"""xAPI import speed and the malformed-statement check (docs/xapi.md).

10,000 statements (the sample catalogue's employees completing, passing and scoring its
modules, and rating documents, as an LRS exports them) imported into a fresh embedded store:
the time of the whole import (read, check every statement, map, one transaction), median of
`--runs` runs; importing the same batch again (nothing added); exporting the store's
statements; a round trip (export, import into a fresh store: the same levels); and 50
malformed statements in one batch, each of which must be named with its reason.

Run: .venv/bin/python bench/xapi.py [--statements 10000] [--runs 5]  -> bench/results/xapi.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, save  # noqa: E402
from recommender import (  # noqa: E402
    XapiInvalidError,
    current_catalog,
    export_statements,
    import_statements,
    load_catalog,
)
from recommender.state.sqlite import CatalogStore  # noqa: E402
from tests.recommender.xapi_cases import ADL, malformed, valid  # noqa: E402

CATALOG = ROOT / "data" / "sample" / "catalog"


def batch(n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder, CatalogStore.open(Path(folder)) as store:
        load_catalog(store, CATALOG)
        catalog = current_catalog(store)
    employees, modules = sorted(catalog.employees), sorted(catalog.modules)
    out = []
    for i in range(n):
        employee = employees[i % len(employees)]
        module = modules[(i // len(employees)) % len(modules)]
        verb = ("completed", "passed", "scored", "rated")[i % 4]
        statement: dict[str, Any] = {
            "id": str(uuid.UUID(int=i + 1)),
            "actor": {"objectType": "Agent", "mbox": f"mailto:{employee}@corp.example"},
            "verb": {"id": ADL + verb, "display": {"en-US": verb}},
            "object": {"id": f"https://lms.corp.example/modules/{module}"},
            "result": {"score": {"scaled": round((i % 10) / 10 + 0.05, 2)}, "duration": "PT45M"},
            "timestamp": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
        }
        if verb == "rated":
            statement["object"] = {"id": f"https://kb.corp.example/documents/doc-{i % 300}"}
            statement["result"] = {"score": {"raw": 1 + i % 5, "min": 1, "max": 5}}
        out.append(statement)
    return out


def fresh(folder: Path) -> CatalogStore:
    store = CatalogStore.open(folder)
    load_catalog(store, CATALOG)
    return store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--statements", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = json.dumps(batch(args.statements)).encode()
    first, again, exported_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            with fresh(Path(tmp) / f"run-{run}") as store:
                catalog = current_catalog(store)
                t = time.perf_counter()
                report = import_statements(store, catalog, data)
                first.append(time.perf_counter() - t)
                t = time.perf_counter()
                repeat = import_statements(store, catalog, data)
                again.append(time.perf_counter() - t)
                assert repeat.recorded == 0 and repeat.already_imported == args.statements
                t = time.perf_counter()
                page = export_statements(store.events())
                exported_s.append(time.perf_counter() - t)
                levels = {e.id: dict(e.skills) for e in current_catalog(store).employees.values()}
        with fresh(Path(tmp) / "round-trip") as target:
            back = import_statements(
                target, current_catalog(target), json.dumps(page.to_dict()).encode()
            )
            round_levels = {
                e.id: dict(e.skills) for e in current_catalog(target).employees.values()
            }
        cases = malformed()
        named = 0
        with fresh(Path(tmp) / "malformed") as store:
            try:
                import_statements(
                    store, current_catalog(store), json.dumps([s for s, _ in cases]).encode()
                )
            except XapiInvalidError as exc:
                for position, (_, words) in enumerate(cases, 1):
                    reasons = [f.reason for f in exc.faults if f.position == position]
                    named += any(words in r for r in reasons)
                example = [str(f) for f in exc.faults[:3]]
            events_after_refusal = len(store.events())
    save(
        "xapi",
        {
            "statements": args.statements,
            "runs": args.runs,
            "import_s_median": round(statistics.median(first), 3),
            "import_statements_per_s": round(args.statements / statistics.median(first)),
            "reimport_s_median": round(statistics.median(again), 3),
            "export_s_median": round(statistics.median(exported_s), 3),
            "recorded": report.recorded,
            "events": report.events,
            "skipped": len(report.skipped),
            "round_trip_statements": len(page.statements),
            "round_trip_recorded": back.recorded,
            "round_trip_levels_equal": round_levels == levels,
            "malformed": len(cases),
            "malformed_named_with_reason": named,
            "events_after_refused_batch": events_after_refusal,
            "malformed_examples": example,
            "valid_statement_example": valid(0)["id"],
        },
    )


if __name__ == "__main__":
    main()
