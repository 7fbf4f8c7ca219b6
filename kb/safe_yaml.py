"""YAML from people we do not trust: safe tags only, and bounded depth, size and length.

Every place that reads YAML someone else wrote (front matter, sidecars, transcript NOTE
blocks, catalogue files) loads it with `load_yaml`. PyYAML's pure-Python `SafeLoader`
builds no arbitrary objects, but on its own it recurses once per nesting level (20,000
levels of `[[[...]]]` raise RecursionError) and it follows aliases, so nine levels of
anchors in 600 bytes stand for hundreds of millions of values (a "billion laughs").

Here the composer counts as it goes: the nesting depth before it descends, and the number
of values the document stands for once every alias is followed, each alias weighing what
the node it names weighs. A document over a limit is refused while it is composed, before
anything is expanded, with `YamlLimitError` naming the limit.

This module imports only PyYAML and the standard library, so every layer can use it.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import Node

MAX_DEPTH = 64  # nested lists / mappings
MAX_NODES = 100_000  # values (keys included) once aliases are expanded
MAX_CHARS = 1_000_000  # characters of input

__all__ = ["MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "YamlLimitError", "load_yaml"]


class YamlLimitError(ValueError):
    """YAML refused for its shape rather than its syntax: too long, too deep, or too big once
    its aliases are expanded. The message names the limit and what to change."""


def _where(node_or_event: Any) -> str:
    mark = getattr(node_or_event, "start_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer keeps count of depth and of expanded size."""

    def __init__(self, text: str, max_depth: int, max_nodes: int) -> None:
        super().__init__(text)
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self._depth = 0
        self._nodes = 0
        self._weights: dict[str, int] = {}  # anchor -> expanded size of its finished node

    def compose_document(self) -> Node | None:
        self._depth, self._nodes, self._weights = 0, 0, {}
        return super().compose_document()

    def _count(self, weight: int, event: Any) -> None:
        self._nodes += weight
        if self._nodes > self.max_nodes:
            raise YamlLimitError(
                f"YAML stands for more than {self.max_nodes:,} values once its aliases "
                f"(*name) are expanded{_where(event)}: write the values out or remove the "
                "aliases (an alias bomb is refused, never expanded)"
            )

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            anchor = str(event.anchor)
            if anchor in self.anchors and anchor not in self._weights:
                raise YamlLimitError(
                    f"YAML alias *{anchor} refers to a node that contains it{_where(event)}: "
                    "remove the recursive alias"
                )
            node = super().compose_node(parent, index)  # undefined alias: ComposerError
            self._count(self._weights[anchor], event)
            return node
        nests = isinstance(event, SequenceStartEvent | MappingStartEvent)
        if nests and self._depth >= self.max_depth:
            raise YamlLimitError(
                f"YAML nested more than {self.max_depth} levels deep{_where(event)}: "
                "flatten the structure"
            )
        start = self._nodes
        self._count(1, event)
        step = 1 if nests else 0
        self._depth += step
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= step
        if event.anchor is not None:
            self._weights[event.anchor] = self._nodes - start
        return node

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # A well-formed scalar can still be a bad value (`date: 2024-13-45`, an int of
        # 5,000 digits): report it as YAML, with its line, rather than as a bare ValueError.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            if isinstance(exc, YamlLimitError):
                raise
            value = node.value if isinstance(node.value, str) else node.tag
            raise ConstructorError(
                None, None, f"cannot read the value {value[:60]!r}: {exc}", node.start_mark
            ) from exc


def load_yaml(
    text: str,
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    max_chars: int = MAX_CHARS,
) -> Any:
    """The one YAML document in `text`, loaded with safe tags only and within the limits.

    Raises `yaml.YAMLError` for YAML that is not valid (with a mark where PyYAML has one)
    and `YamlLimitError` for YAML over a limit; never RecursionError.
    """
    if len(text) > max_chars:
        raise YamlLimitError(
            f"YAML is {len(text):,} characters long, over the limit of {max_chars:,}: shorten it"
        )
    loader = _BoundedLoader(text, max_depth, max_nodes)
    try:
        return loader.get_single_data()
    except RecursionError:  # last resort: the depth limit should make this unreachable
        raise YamlLimitError("YAML is nested too deeply to read: flatten the structure") from None
    finally:
        loader.dispose()
