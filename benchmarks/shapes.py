"""The pipelines the cases measure, and the same DAGs written by hand or as dag-factory configs.

The hand-written forms are derived from the DAG we compile, so they hold the same task ids, configs,
policies, edges and edge labels.
"""

from __future__ import annotations

import inspect
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from airflow.sdk import DAG
    from airflow.sdk.bases.operator import BaseOperator

    from gathering_provider.bundles import PipelineBundle

Flavor = Literal["ours", "python"]
"""Hand-written with our operator classes, or with EmptyOperator for triggers and PythonOperator."""

Shape = Callable[[str, int], dict[str, Any]]

URL = "http://127.0.0.1:8080"
REVIEW = {"action": "send_notification", "url": f"{URL}/hooks", "payload": {"text": "review"}}
LOG = {"action": "call_api", "url": f"{URL}/log", "method": "POST", "json": {"step": 1}}
DONE = {"action": "send_notification", "url": f"{URL}/hooks", "payload": {"text": "done"}}
SEGMENT: tuple[tuple[str, dict[str, Any], tuple[tuple[int, str | None], ...]], ...] = (
    # (node type, config, predecessors as (index in the segment, edge label)); -1: the previous segment
    ("agent", {"agent_id": 1, "task": "Classify the request"}, ((-1, None),)),
    ("condition", {}, ((0, None),)),  # its config names the agent before it: see pipeline()
    ("action", {"action": "call_api", "url": f"{URL}/tickets"}, ((1, "true"),)),
    ("action", REVIEW, ((1, "false"),)),
    ("parallel", {}, ((2, None), (3, None))),
    ("agent", {"agent_id": 2, "task": "Draft a reply"}, ((4, None),)),
    ("agent", {"agent_id": 3, "task": "Check the facts"}, ((4, None),)),
    ("action", LOG, ((4, None),)),
    ("delay", {"seconds": 0}, ((5, None), (6, None), (7, None))),
    ("action", DONE, ((8, None),)),
)


def noop(**_: Any) -> None:
    """What the hand-written PythonOperator tasks run."""


def _trigger() -> dict[str, Any]:
    return {"id": "n0", "type": "trigger", "name": "Start", "config": {"trigger_type": "manual"}}


def pipeline(name: str, size: int) -> dict[str, Any]:
    """A pipeline of ``size`` nodes: a manual trigger, then segments of :data:`SEGMENT` (an agent, a
    condition on it with true and false edges to two actions, a parallel fan-out to two agents and an
    action, a delay joining them, an action), the last one cut at ``size``."""
    nodes, edges, previous = [_trigger()], [], "n0"
    while len(nodes) < size:
        ids = [f"n{len(nodes) + index}" for index in range(len(SEGMENT))]
        for node_id, (kind, config, predecessors) in zip(ids, SEGMENT, strict=True):
            if len(nodes) == size:
                break
            if kind == "condition":
                config = {"condition": f"{ids[0]}.simulated == true"}
            nodes.append({"id": node_id, "type": kind, "name": f"{kind} {node_id}", "config": config})
            for index, label in predecessors:
                source = previous if index < 0 else ids[index]
                edges.append({"id": f"e{len(edges)}", "from": source, "to": node_id, "condition": label})
        previous = ids[-1]
    return {"name": name, "nodes": nodes, "edges": edges}


def chain(name: str, size: int) -> dict[str, Any]:
    """A trigger, then agents and recording actions in turn, each node after the one before."""
    nodes = [_trigger()] + [
        {"id": f"n{i}", "type": "agent", "config": {"agent_id": i, "task": "Summarize"}}
        if i % 2
        else {"id": f"n{i}", "type": "action", "config": {"action": f"record_{i}"}}
        for i in range(1, size)
    ]
    edges = [{"id": f"e{i}", "from": f"n{i - 1}", "to": f"n{i}"} for i in range(1, size)]
    return {"name": name, "nodes": nodes, "edges": edges}


def write_pipelines(
    folder: Path, count: int, size: int, suffix: str = ".json", shape: Shape = pipeline
) -> None:
    """Write ``count`` pipeline files ``p00000<suffix>``... (JSON or YAML) of ``size`` nodes."""
    folder.mkdir(parents=True)
    an_hour_ago = time.time() - 3600  # deployed files, not being edited: the bundle's manifest keeps them
    for index in range(count):
        path = folder / f"p{index:05d}{suffix}"
        document = shape(path.stem, size)
        path.write_text(
            json.dumps(document) if suffix == ".json" else yaml.safe_dump(document, sort_keys=False)
        )
        os.utime(path, (an_hour_ago, an_hour_ago))


def bundle_of(pipelines: Path, name: str) -> PipelineBundle:
    """The DAG bundle serving the pipeline files of ``pipelines``."""
    from gathering_provider.bundles import PipelineBundle

    return PipelineBundle(name=name, pipelines_folder=str(pipelines))


def compiled(path: Path) -> DAG:
    """The DAG we compile from the pipeline file ``path``."""
    from gathering_provider.compilation.pipeline_file import compile_file

    result = compile_file(path)
    if result.dag is None:
        raise RuntimeError(f"{path}: {result.errors}")
    return result.dag


def _is_trigger(task: BaseOperator) -> bool:
    from gathering_provider.operators.trigger import TriggerOperator

    return isinstance(task, TriggerOperator)


def _config(task: BaseOperator) -> dict[str, Any]:
    return task.config.model_dump(mode="json", exclude_unset=True)


def own_arguments(task: BaseOperator) -> list[str]:
    """The keyword arguments our operator classes add to BaseOperator's; each is kept as an attribute."""
    from gathering_provider.operators.base import GatheringNodeOperator

    return [
        parameter.name
        for cls in reversed(type(task).__mro__)
        if issubclass(cls, GatheringNodeOperator) and "__init__" in vars(cls)
        for parameter in inspect.signature(cls.__init__).parameters.values()
        if parameter.kind is parameter.KEYWORD_ONLY
    ]


def _literal(value: Any) -> str:
    """Python source for an argument's value: a node config as written in the file, others as repr."""
    from gathering_provider.definition.models import NodeConfig

    if isinstance(value, NodeConfig):
        return f"{type(value).__name__}(**{value.model_dump(exclude_unset=True)!r})"
    return repr(value)


def _call(task: BaseOperator, flavor: Flavor) -> str:
    """The operator call creating ``task``."""
    args = {"task_id": repr(task.task_id), "task_display_name": repr(task.task_display_name)}
    if flavor == "ours":
        cls = type(task).__name__
        args |= {name: _literal(getattr(task, name)) for name in own_arguments(task)}
    elif _is_trigger(task):
        cls = "EmptyOperator"
    else:
        cls = "PythonOperator"
        args |= {"python_callable": "noop", "op_kwargs": repr(_config(task))}
    return f"{cls}({', '.join(f'{name}={value}' for name, value in args.items())})"


def _imports(dag: DAG, flavor: Flavor) -> list[str]:
    if flavor == "python":
        return [
            "from airflow.providers.standard.operators.empty import EmptyOperator",
            "from airflow.providers.standard.operators.python import PythonOperator",
            "from benchmarks.shapes import noop",
        ]
    classes = {type(task) for task in dag.tasks}
    for task in dag.tasks:
        for name in own_arguments(task):
            value = getattr(task, name)
            for item in value if isinstance(value, tuple | list | frozenset | set) else (value,):
                classes.add(type(item))
    classes -= {bool, int, float, str, type(None)}
    return sorted(f"from {cls.__module__} import {cls.__name__}" for cls in classes)


def by_hand(dag: DAG, flavor: Flavor, dag_id: str | None = None) -> str:
    """The Python DAG file a person would write for ``dag`` (a manually triggered one), in ``flavor``."""
    first = dag.tasks[0]
    default_args = (
        f"{{'owner': {first.owner!r}, 'retries': {first.retries!r}, "
        f"'retry_delay': timedelta(seconds={first.retry_delay.total_seconds()!r})}}"
    )
    lines = [
        f'"""Airflow DAG {dag.dag_id}, written by hand."""',
        "from datetime import timedelta",
        "import pendulum",
        "from airflow.sdk import DAG, Label",
        *_imports(dag, flavor),
        "with DAG(",
        f"    dag_id={dag_id or dag.dag_id!r},",
        f"    dag_display_name={dag.dag_display_name!r},",
        "    schedule=None,",
        f"    start_date=pendulum.parse({dag.start_date.isoformat()!r}),",
        "    catchup=False,",
        f"    tags={sorted(dag.tags)!r},",
        f"    default_args={default_args},",
        "):",
        "    t = {}",
        *(f"    t[{task.task_id!r}] = {_call(task, flavor)}" for task in dag.tasks),
    ]
    for task in dag.tasks:
        for upstream in sorted(task.upstream_task_ids):
            label = dag.get_edge_info(upstream, task.task_id).get("label")
            link = f" >> Label({label!r}) >> " if label else " >> "
            lines.append(f"    t[{upstream!r}]{link}t[{task.task_id!r}]")
    return "\n".join(lines) + "\n"


def dag_factory_config(dag: DAG) -> dict[str, Any]:
    """The dag-factory YAML config of ``dag``: EmptyOperator for triggers, PythonOperator for other nodes."""
    first = dag.tasks[0]
    tasks = []
    for task in dag.tasks:
        entry: dict[str, Any] = {"task_id": task.task_id, "task_display_name": task.task_display_name}
        if _is_trigger(task):
            entry["operator"] = "airflow.providers.standard.operators.empty.EmptyOperator"
        else:
            entry |= {
                "operator": "airflow.providers.standard.operators.python.PythonOperator",
                "python_callable": "benchmarks.shapes.noop",
                "op_kwargs": _config(task),
            }
        if task.upstream_task_ids:
            entry["dependencies"] = sorted(task.upstream_task_ids)
        tasks.append(entry)
    default_args = {
        "owner": first.owner,
        "start_date": dag.start_date.date().isoformat(),
        "retries": first.retries,
        "retry_delay_sec": first.retry_delay.total_seconds(),
    }
    return {
        dag.dag_id: {
            "default_args": default_args,
            "schedule": None,
            "catchup": False,
            "tags": sorted(dag.tags),
            "tasks": tasks,
        }
    }
