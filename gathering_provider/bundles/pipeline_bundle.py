"""The gathering DAG bundle: Airflow's way in for a folder of pipeline files, or a gathering server's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from airflow.dag_processing.bundles.base import BaseDagBundle
from airflow.sdk import get_parsing_context

from gathering_provider import config
from gathering_provider.bundles.sync import seconds_since_sync, sync_folder
from gathering_provider.pull import PullStatus, fetch_pipelines, pull_pipelines

log = logging.getLogger(__name__)


class PipelineBundle(BaseDagBundle):
    """A DAG bundle holding one generated DAG file per pipeline file of ``pipelines_folder``, or per
    pipeline of a gathering server.

    Configure it in ``[dag_processor] dag_bundle_config_list``::

        [{"name": "gathering", "classpath": "gathering_provider.bundles.PipelineBundle",
          "kwargs": {"pipelines_folder": "/opt/airflow/pipelines"}}]

    or, to serve a gathering server's active pipelines, with the kwargs
    ``{"gathering_conn_id": "gathering_default", "status": "active"}``. Each sync then pulls the server's
    pipelines (:mod:`gathering_provider.pull`, as ``airflow gathering pull --prune`` does) into a folder
    beside the generated files and serves that folder. An invalid server pipeline never replaces a valid
    version pulled earlier, which keeps running while each sync logs the new version's errors; one that
    has no valid version is written anyway, so it is its own DAG file's import error. While the server
    cannot be reached, the files of the last sync stay, with a warning.

    ``initialize()`` (dag-processor start) and ``refresh()`` (every ``refresh_interval``) bring the
    generated files in line with the pipelines folder; while that folder is missing (a volume not mounted
    yet), the files of the last sync stay. A task start (Airflow parsing for one DAG) uses the generated
    files as they are when they were synced less than ``refresh_interval`` ago, as the dag-processor
    does: so a worker beside the dag-processor runs exactly what it parsed, whatever the number of
    pipelines, and a worker with storage of its own syncs first. A broken pipeline file is its generated
    file's own import error and hides no other pipeline.

    :param pipelines_folder: absolute path of the pipeline files (``*.json``, ``*.yaml``, ``*.yml``,
        searched recursively); default ``[gathering] pipelines_folder``.
    :param gathering_conn_id: a ``gathering`` connection whose server's pipelines the bundle serves,
        instead of a folder.
    :param status: with ``gathering_conn_id``, only the pipelines with this status (default ``active``;
        ``None`` for all).
    """

    supports_versioning = False

    def __init__(
        self,
        *,
        pipelines_folder: str | None = None,
        gathering_conn_id: str | None = None,
        status: str | None = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if pipelines_folder and gathering_conn_id:
            raise ValueError(
                f"bundle {self.name!r}: give pipelines_folder or gathering_conn_id, not both "
                "(configure one bundle for each)"
            )
        self.gathering_conn_id = gathering_conn_id
        self.status = status
        if gathering_conn_id:
            folder = self.base_dir.with_name(f"{self.name}.pulled")
        else:
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
        """Add, rewrite and remove generated DAG files to match the pipelines folder (or server)."""
        with self.lock():
            if not self._update_pipelines():
                return
            report = sync_folder(self.pipelines_folder, self.path)
        if report.written or report.removed:
            log.info(
                "Bundle %r: %d DAG file(s) written, %d removed, from %s",
                self.name,
                len(report.written),
                len(report.removed),
                self.gathering_conn_id or self.pipelines_folder,
            )

    def _update_pipelines(self) -> bool:
        """Make the pipelines folder current (pull the server's pipelines); whether the bundle may sync.

        A missing pipelines folder (a shared volume not mounted yet) or a server that cannot be reached
        leaves the DAG files of the last sync as they are.
        """
        if not self.gathering_conn_id:
            if self.pipelines_folder.is_dir():
                return True
            log.warning(
                "Bundle %r: pipelines folder %s is not a folder; serving the DAG files of the last sync",
                self.name,
                self.pipelines_folder,
            )
            return False
        try:
            listing = fetch_pipelines(self.gathering_conn_id, self.status)
        except Exception as error:  # whatever the server or the network does, the last sync keeps serving
            log.warning(
                "Bundle %r: cannot list the pipelines of gathering connection %r (%s: %s); serving the "
                "DAG files of the last sync",
                self.name,
                self.gathering_conn_id,
                type(error).__name__,
                error,
            )
            return False
        for item in pull_pipelines(listing, self.pipelines_folder, prune=True, keep_invalid=True):
            if item.status is PullStatus.INVALID and not item.written:
                log.error(
                    "Bundle %r: pipeline %r (id %s) on the server is invalid; its last valid version keeps "
                    "serving:\n%s",
                    self.name,
                    item.name,
                    item.id,
                    "\n".join(map(str, item.errors)),
                )
        return True
