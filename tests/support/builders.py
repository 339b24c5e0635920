"""Small builders for pipeline dicts in gathering's shape."""

from __future__ import annotations

from typing import Any


def node(node_id: str, node_type: str, name: str | None = None, **config: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": node_type,
        "name": name or node_id.replace("_", " ").title(),
        "config": config,
    }


def edge(source: str, target: str, label: str | None = None) -> dict[str, Any]:
    link: dict[str, Any] = {"id": f"{source}->{target}", "from": source, "to": target}
    if label is not None:
        link["condition"] = label
    return link


def pipeline(nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"name": "Test pipeline", "status": "active", "nodes": nodes, "edges": edges, **fields}


def record(node_id: str) -> dict[str, Any]:
    """An action without a handler: it runs and records its inputs, calling nothing."""
    return node(node_id, "action", action=f"record_{node_id}")
