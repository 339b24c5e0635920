"""The gathering DAG bundle: Airflow's way in for a folder of pipeline files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.dag_processing.bundles.base import BaseDagBundle
from airflow.sdk import get_parsing_context

from gathering_provider import config
from gathering_provider.bundles.sync import seconds_since_sync, sync_folder

log = logging.getLogger(__name__)


class PipelineBundle(BaseDagBundle):
    """A DAG bundle holding one generated DAG file per pipeline file of ``pipelines_folder``.

    Configure it in ``[dag_processor] dag_bundle_config_list``::

        [{"name": "gathering", "classpath": "gathering_provider.bundles.PipelineBundle",
          "kwargs": {"pipelines_folder": "/opt/airflow/pipelines"}}]

    ``initialize()`` (dag-processor start) and ``refresh()`` (every ``refresh_interval``) bring the
    generated files in line with the pipelines folder; while that folder is missing (a volume not mounted
    yet), the files of the last sync stay. A task start (Airflow parsing for one DAG) uses the generated
    files as they are when they were synced less than ``refresh_interval`` ago, as the dag-processor
    does: so a worker beside the dag-processor runs exactly what it parsed, whatever the number of
    pipelines, and a worker with storage of its own syncs first. A broken pipeline file is its generated
    file's own import error and hides no other pipeline.

    :param pipelines_folder: absolute path of the pipeline files (``*.json``, ``*.yaml``, ``*.yml``,
        searched recursively); default ``[gathering] pipelines_folder``.
    """

    supports_versioning = False

    def __init__(self, *, pipelines_folder: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        folder = Path(pipelines_folder or config.get("pipelines_folder")).expanduser()
        if not folder.is_absolute():
            raise ValueError(
                f"bundle {self.name!r}: pipelines_folder must be an absolute path (bundle kwargs or "
                f"[gathering] pipelines_folder), got {str(folder)!r}"
            )
        self.pipelines_folder = folder

    @property
    def path(self) -> Path:
        """The folder of generated DAG files."""
        return self.base_dir

    def get_current_version(self) -> None:
        """No versions: the bundle always serves the pipelines folder as it is."""
        return None

    def initialize(self) -> None:
        """Generate the DAG files before first use, unless a task starts on a recent sync."""
        age = seconds_since_sync(self.path)
        task_start = get_parsing_context().dag_id is not None
        if not (task_start and age is not None and 0 <= age < self.refresh_interval):
            self.refresh()
        super().initialize()

    def refresh(self) -> None:
        """Add, rewrite and remove generated DAG files to match the pipelines folder."""
        if not self.pipelines_folder.is_dir():  # e.g. a shared volume not mounted (yet): keep what was served
            log.warning(
                "Bundle %r: pipelines folder %s is not a folder; serving the DAG files of the last sync",
                self.name,
                self.pipelines_folder,
            )
            return
        with self.lock():
            report = sync_folder(self.pipelines_folder, self.path)
        if report.written or report.removed:
            log.info(
                "Bundle %r: %d DAG file(s) written, %d removed, from %s",
                self.name,
                len(report.written),
                len(report.removed),
                self.pipelines_folder,
            )
