"""Small builders of test material, so each test shows the input it is about."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def markdown_doc(title: str, sections: dict[str, str], **front: Any) -> str:
    meta = {"title": title, **front}
    lines = ["---"]
    for key, value in meta.items():
        lines.append(f"{key}: {json.dumps(value) if isinstance(value, list) else value}")
    lines += ["---", "", f"# {title}", ""]
    for heading, body in sections.items():
        lines += [f"## {heading}", "", body, ""]
    return "\n".join(lines)


def notebook(cells: list[dict[str, Any]], **kb_meta: Any) -> str:
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kb": kb_meta}, "cells": cells}
    )


def md_cell(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def code_cell(source: str, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": 1,
        "source": source,
        "outputs": outputs or [],
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on, for a server the test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], wait: float = 30) -> None:
    """Stop a server the test or benchmark started: asked to, then killed after `wait` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
