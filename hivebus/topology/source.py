"""Reading a topology file as plain data while remembering the line of every key and item.

pydantic validates plain dicts and lists and reports a location like
`('agents', 'fraud', 'replicas')`; the YAML node tree knows where that location was written.
Keeping both lets every error name the file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hivebus.errors import ConfigError

Location = tuple[str | int, ...]


class TopologyError(ConfigError):
    """A topology that cannot be used; the message names the file, the line and the field."""


@dataclass
class Source:
    """A topology file's data and the line (1-based) each location was written on."""

    path: Path
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """The line of `location`, or of the nearest enclosing one that was written."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(location[:end])
            if line is not None:
                return line
        return None

    def error(self, location: Location, message: str) -> TopologyError:
        """An error at `location`: `file:line: field: message`."""
        return TopologyError(f"{self.where(location)}: {message}")

    def where(self, location: Location) -> str:
        line = self.line_of(location)
        place = f"{self.path}:{line}" if line else str(self.path)
        dotted = dotted_field(location)
        return f"{place}: {dotted}" if dotted else place


def dotted_field(location: Location) -> str:
    """`('agents', 'fraud', 'consumer')` -> `agents.fraud.consumer`; list items as `[i]`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def read_source(path: Path) -> Source:
    """Parse `path` as YAML; a syntax error names its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TopologyError(f"cannot read topology {path}: {error.strerror or error}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise TopologyError(f"{where}: not valid YAML: {error.problem}") from None
    source = Source(path, None)
    source.data = {} if node is None else _convert(node, (), source)
    return source


def _convert(node: yaml.Node, location: Location, source: Source) -> Any:
    source.lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            here = (*location, str(key))
            first = source.lines.get(here)
            source.lines[here] = key_node.start_mark.line + 1
            if key in result:
                raise source.error(here, f"written twice (first on line {first}); each key may "
                                         "appear once")  # fmt: skip
            result[key] = _convert(value_node, here, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*location, i), source) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    """A scalar node as YAML's safe loader would build it (ints, bools, strings...)."""
    if not isinstance(node, yaml.ScalarNode):
        raise TopologyError(
            f"line {node.start_mark.line + 1}: a key must be a plain value, not a "
            f"{'mapping' if isinstance(node, yaml.MappingNode) else 'list'}"
        )
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node)
    finally:
        loader.dispose()
