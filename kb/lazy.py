"""A package face whose heavy names load on first use (PEP 562's module `__getattr__`).

`kb` keeps faiss out of `import kb` this way, and `recommender` keeps networkx out of
`import recommender`: value types and errors stay free to import for every layer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports `modules[name]` when `name` is first
    asked for, and says which names exist otherwise."""

    def __getattr__(name: str) -> Any:
        if name in modules:
            return getattr(importlib.import_module(modules[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
