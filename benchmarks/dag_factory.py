"""Parse through the DAG bundle, JSON and YAML pipeline files, against the same DAGs built by dag-factory.

dag-factory reads one YAML config per DAG, loaded as its documentation shows: a DAG file calling
``load_yaml_dags(globals_dict=globals(), config_filepath=...)``. Each config holds the same tasks and
dependencies as PythonOperator tasks (EmptyOperator for the trigger), the node config as ``op_kwargs``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmarks.common import Mode, Row, Target, interleaved, parse_folder
from benchmarks.shapes import bundle_of, compiled, dag_factory_config, write_pipelines

LOADER = '''"""Airflow DAGs of {config}, built by dag-factory."""
from dagfactory import load_yaml_dags

load_yaml_dags(globals_dict=globals(), config_filepath={config!r})
'''


def write_dag_factory(pipelines: Path, target: Path, mode: Mode) -> Path:
    """Write a dag-factory config and its loader DAG file for every pipeline file of ``pipelines``."""
    paths = sorted(pipelines.iterdir())
    configs = mode.forked(lambda: [dag_factory_config(compiled(path)) for path in paths])
    target.mkdir(parents=True)
    for path, config in zip(paths, configs, strict=True):
        config_path = target / f"{path.stem}.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        (target / f"{path.stem}.py").write_text(LOADER.format(config=str(config_path)))
    return target


def run(mode: Mode) -> list[Row]:
    """100 pipelines of 20 nodes (smoke: 20)."""
    count, size = mode.pick(100, 20), 20
    bundles = {}
    for suffix in (".json", ".yaml"):
        name = f"dag_factory_{suffix[1:]}"
        write_pipelines(mode.root / name, count, size, suffix)
        bundles[suffix] = bundle_of(mode.root / name, name)
        mode.forked(bundles[suffix].initialize)
    factory = write_dag_factory(bundles[".json"].pipelines_folder, mode.root / "dag_factory", mode)
    best = interleaved(
        {
            **{
                suffix: lambda bundle=bundle: parse_folder(bundle.path, bundle.name, count)
                for suffix, bundle in bundles.items()
            },
            "dag-factory": lambda: parse_folder(factory, "dag_factory", count),
        },
        mode.repeats,
        mode.forked,
    )
    return [
        Row(
            f"parse {count} x {size} nodes: ours ({kind} files) / dag-factory",
            best[suffix],
            best["dag-factory"],
            targets=(Target(0.33),),
        )
        for suffix, kind in ((".json", "JSON"), (".yaml", "YAML"))
    ]
