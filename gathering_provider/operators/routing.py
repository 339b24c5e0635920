"""Which edges are live: gathering's OR-join, with condition labels honoured.

A node runs when at least one incoming edge is live. An edge is live when its source ran and, for a
condition source, the edge was followed for the condition's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def edge_followed(label: str | None, value: Any) -> bool:
    """Whether a condition with result ``value`` follows an edge labelled ``label``.

    ``"true"``/``"false"`` match ``bool(value)``; no label follows a truthy result; any other label is
    followed when it equals ``str(value)`` (multi-way routing such as ``"high"``/``"low"``).
    """
    if label is None:
        return bool(value)
    if label.lower() in ("true", "false"):
        return bool(value) is (label.lower() == "true")
    return str(value) == label


@dataclass(frozen=True)
class IncomingEdge:
    """An edge as the target node sees it."""

    edge_id: str
    source: str
    target: str
    label: str | None
    from_condition: bool
    passes_through: bool = False
    """Whether the source is a pass-through node (:mod:`~gathering_provider.operators.passthrough`)."""

    def is_live(self, outputs: Mapping[str, Any]) -> bool:
        """Whether this edge carries control, given the outputs of the sources that ran."""
        if self.source not in outputs:
            return False
        return not self.from_condition or edge_followed(self.label, outputs[self.source].get("result"))


def live_edges(incoming: Iterable[IncomingEdge], outputs: Mapping[str, Any]) -> list[IncomingEdge]:
    """The live edges among ``incoming``."""
    return [edge for edge in incoming if edge.is_live(outputs)]
