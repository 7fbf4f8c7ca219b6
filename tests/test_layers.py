"""The house's shape: what each layer may import, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def imported_after(statement: str) -> set[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_value_types_errors_and_the_recommender_import_without_faiss_or_torch() -> None:
    loaded = imported_after("import kb.types, kb.errors, kb.safe_yaml, recommender")
    assert not {"faiss", "torch", "sentence_transformers", "fastapi"} & loaded


def test_the_knowledge_base_itself_brings_faiss_but_not_the_web_stack() -> None:
    loaded = imported_after("from kb import KnowledgeBase")
    assert "faiss" in loaded
    assert not {"fastapi", "click", "torch"} & loaded
