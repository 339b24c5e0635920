"""Checks across the pipeline files validated together, which no single file can make on its own.

- ``duplicate-dag-id``: two files claim one DAG id (Airflow would show whichever it parsed last);
- ``unknown-pipeline``: an ``execute_pipeline`` node names a DAG id that no validated file has, or a
  draft's (drafts are not loaded); validating a single file, nothing else is known, so the target is
  only reported as ``unchecked-pipeline`` (a warning);
- ``pipeline-cycle``: pipelines that trigger each other in a cycle, which would never end.

Airflow parses each generated DAG file on its own, so the DAG bundle cannot make these checks; run
``airflow gathering validate`` on the whole folder before deploying.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import networkx as nx

from gathering_provider.definition.models import ActionNode
from gathering_provider.validation.validator import ValidationResult


def check_together(results: Sequence[ValidationResult]) -> None:
    """Record the problems that come from validating ``results`` together on the results concerned."""
    _check_dag_ids(results)
    _check_nested_pipelines(results)


def _loaded(results: Sequence[ValidationResult]) -> Iterator[ValidationResult]:
    """The results that become DAGs so far: no errors, and no draft."""
    return (result for result in results if result.pipeline is not None and not result.is_draft)


def _check_dag_ids(results: Sequence[ValidationResult]) -> None:
    owners: dict[str, Path] = {}
    for result in list(_loaded(results)):
        if result.dag_id in owners:
            result.error(
                "duplicate-dag-id", f"dag_id {result.dag_id!r} is already used by {owners[result.dag_id]}"
            )
            result.pipeline = None
        else:
            owners[result.dag_id] = result.path


def _check_nested_pipelines(results: Sequence[ValidationResult]) -> None:
    known = {result.dag_id for result in results}
    drafts = {result.dag_id for result in results if result.is_draft}
    calls = nx.DiGraph()
    callers: dict[str, ValidationResult] = {}
    for result in results:
        if result.pipeline is None:
            continue
        callers.setdefault(result.dag_id, result)
        for node in result.pipeline.nodes:
            if not (isinstance(node, ActionNode) and node.config.runs_pipeline):
                continue
            target = str(node.config.pipeline)
            if target in drafts:
                result.error(
                    "unknown-pipeline",
                    f"execute_pipeline runs {target!r}, a draft: it is not loaded",
                    node=node.id,
                )
            elif target in known:
                if not calls.has_edge(result.dag_id, target):
                    calls.add_edge(result.dag_id, target, node=node.id)
            elif len(results) == 1:
                result.warning(
                    "unchecked-pipeline",
                    f"execute_pipeline runs {target!r}, which could not be checked: validate this file "
                    "together with the pipeline files it runs",
                    node=node.id,
                )
            else:
                result.error(
                    "unknown-pipeline",
                    f"execute_pipeline runs {target!r}, which is not a pipeline among the validated files",
                    node=node.id,
                )
    for component in nx.strongly_connected_components(calls):
        first = next(iter(component))
        if len(component) == 1 and not calls.has_edge(first, first):
            continue
        cycle = [source for source, _ in nx.find_cycle(calls.subgraph(component), source=first)]
        for index, dag_id in enumerate(cycle):
            path = [*cycle[index:], *cycle[:index], dag_id]
            callers[dag_id].error(
                "pipeline-cycle",
                f"pipelines trigger each other in a cycle: {' -> '.join(path)}",
                node=calls.edges[dag_id, path[1]]["node"],
            )
