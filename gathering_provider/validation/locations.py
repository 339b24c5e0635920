"""Where problems are in their file: the line and column of the value, or the key, each one concerns.

Locations are found only when problems are shown, so a clean file never pays for them: the text is
composed once more with YAML's composer (which reads JSON as flow syntax and marks where every node
starts), and each problem's document path (:class:`~gathering_provider.validation.problems.Spot`) is
followed down the tree. A problem without a path points at the node or edge it names, at its ``id``. Text
that cannot be composed leaves its problems without a location.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import yaml

from gathering_provider.definition.loader import compose, position
from gathering_provider.validation.problems import Problem, Spot


def locate(text: str, source: PurePath, problems: Sequence[Problem]) -> None:
    """Set the line and column of each of ``problems`` that can be found in ``text``, the text of the
    pipeline file ``source``."""
    root = compose(text, source)
    if root is None:
        return
    ids: dict[str, dict[str, int]] = {}
    for problem in problems:
        spot = problem.at or _subject(root, problem, ids)
        if spot is not None:
            problem.line, problem.column = position(_find(root, spot))


def _subject(root: yaml.Node, problem: Problem, ids: dict[str, dict[str, int]]) -> Spot | None:
    """The ``id`` of the node or edge ``problem`` names; ``ids`` caches each list's index of ids."""
    part, item_id = ("nodes", problem.node) if problem.node else ("edges", problem.edge)
    if item_id is None:
        return None
    if part not in ids:
        entry = _entry(root, part)
        items = entry[1].value if entry and isinstance(entry[1], yaml.SequenceNode) else []
        ids[part] = {}
        for index, item in enumerate(items):
            found = _entry(item, "id")
            if found and isinstance(found[1], yaml.ScalarNode):
                ids[part].setdefault(found[1].value, index)
    index = ids[part].get(item_id)
    return Spot((part, index, "id")) if index is not None else None


def _find(root: yaml.Node, spot: Spot) -> yaml.Node:
    """The node at ``spot`` (the key's node with ``spot.key``), or the deepest one found on its way."""
    node = root
    for depth, part in enumerate(spot.path, start=1):
        entry = _entry(node, part)
        if entry is None:
            return node
        key, node = entry
        if spot.key and depth == len(spot.path) and key is not None:
            return key
    return node


def _entry(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    """The (key, value) nodes under ``node`` at ``part``: a mapping's key or a sequence's index."""
    if isinstance(node, yaml.SequenceNode):
        return (None, node.value[part]) if isinstance(part, int) and 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        return next(
            (
                (key, value)
                for key, value in node.value
                if isinstance(key, yaml.ScalarNode) and key.value == str(part)
            ),
            None,
        )
    return None
