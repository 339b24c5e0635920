"""Outputs that pass other nodes' outputs on, stored as references rather than copies.

A pass-through node (``parallel``, ``delay``, an action without a handler) stores as its XCom the ids of the
nodes whose outputs it passes on: ``{"passed_through": {"fetch": false, "fan": true}}``, ``true`` marking a
source that is itself a pass-through node. Readers expand it from those nodes' own XComs and see what a
copy would hold: the inputs ``{source_id: output}``, or ``{...fields, "inputs": {...}}`` when the node adds
fields of its own (an action's ``action``, ``executed``, ``attempts``). So each XCom row stays the size of
one node's own data, however long a chain of pass-through nodes grows.

Only outputs of nodes known at compile time to pass through are read as references; trigger data and
other outputs are never interpreted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

PASSED_THROUGH = "passed_through"

Pull = Callable[[list[str]], list[Any]]
"""Read this run's output XComs of some task ids, in order (``None`` for a task that did not run)."""


def reference(inputs: Mapping[str, Any], passing: Collection[str], **fields: Any) -> dict[str, Any]:
    """The stored output of a pass-through node with ``inputs``; ``passing`` are its pass-through sources."""
    return {**fields, PASSED_THROUGH: {source: source in passing for source in inputs}}


def expand(stored: Any, pull: Pull) -> Any:
    """What the pass-through node's ``stored`` output stands for, read through ``pull``."""
    pulled: dict[str, Any] = {}

    def view(value: Any) -> Any:
        sources = value.get(PASSED_THROUGH) if isinstance(value, dict) else None
        if not isinstance(sources, dict):
            return value
        missing = [source for source in sources if source not in pulled]
        if missing:
            pulled.update(zip(missing, pull(missing), strict=True))
        inputs = {
            source: view(pulled[source]) if passes else pulled[source]
            for source, passes in sources.items()
            if pulled[source] is not None
        }
        fields = {key: item for key, item in value.items() if key != PASSED_THROUGH}
        return {**fields, "inputs": inputs} if fields else inputs

    return view(stored)
