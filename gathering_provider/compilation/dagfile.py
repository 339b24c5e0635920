"""Everything the DAG file does: validate a folder of pipelines and compile the good ones.

Broken files must neither hide the good pipelines nor go unnoticed. ``DagBag.process_file`` validates each
DAG of a file in its own ``try`` and records a failure as the file's import error while keeping the
file's other DAGs; it stores one error per file. So the problems of every broken pipeline are joined into
one stand-in DAG whose ``validate()`` raises them: they show in ``airflow dags list-import-errors`` and
the UI, and the good pipelines still load.
"""

from __future__ import annotations

import logging
from pathlib import Path

from airflow.sdk import DAG

from gathering_provider import config
from gathering_provider.compilation.dag_builder import build_dag
from gathering_provider.validation.problems import Severity
from gathering_provider.validation.validator import ValidationResult, validate_paths

log = logging.getLogger(__name__)

INVALID_PIPELINES_DAG_ID = "gathering_invalid_pipelines"


class InvalidPipelineError(ValueError):
    """Pipeline files that failed validation; the message lists every error."""


class InvalidPipelines(DAG):
    """Stand-in DAG that never loads: its validation raises the problems of the broken pipeline files."""

    def validate(self) -> None:
        raise InvalidPipelineError(self.doc_md)


def pipelines_folder(dag_file: Path) -> Path:
    """``[gathering] pipelines_folder``, relative to the DAG file's folder; default ``pipelines/`` there."""
    configured = config.get("pipelines_folder")
    return dag_file.parent / (configured or "pipelines")


def load_dags(dag_file: Path) -> dict[str, DAG]:
    """The DAGs of every valid, non-draft pipeline; plus the stand-in when some files are broken."""
    dags: dict[str, DAG] = {}
    broken: list[str] = []
    for result in validate_paths([pipelines_folder(dag_file)]):
        _log_problems(result)
        if result.pipeline is None:
            broken.extend(str(problem) for problem in result.errors)
        elif not result.is_draft:
            dag = build_dag(result.pipeline, result.dag_id)
            dag.fileloc = str(dag_file)
            dags[dag.dag_id] = dag
    if broken:
        message = f"{len(broken)} pipeline error(s):\n" + "\n".join(broken)
        stand_in = InvalidPipelines(dag_id=INVALID_PIPELINES_DAG_ID, schedule=None, doc_md=message)
        stand_in.fileloc = str(dag_file)
        dags[stand_in.dag_id] = stand_in
    return dags


def _log_problems(result: ValidationResult) -> None:
    levels = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING, Severity.INFO: logging.INFO}
    for problem in result.problems:
        log.log(levels[problem.severity], "%s", problem)
