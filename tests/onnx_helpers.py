"""The ONNX export cache of a test session: one folder under pytest's base temp, so each
test module that builds an ONNX embedder reuses the files the first one exported."""

from __future__ import annotations

from pathlib import Path

import pytest


def session_onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "onnx-cache"
    folder.mkdir(exist_ok=True)
    return folder
