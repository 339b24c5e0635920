"""A real Airflow deployment for the end-to-end stage, from a fresh database to stopped processes.

``Deployment`` creates a PostgreSQL database and a run folder holding a fresh ``AIRFLOW_HOME``, migrates
the database, starts the api-server, scheduler, dag-processor and triggerer (each in its own process
group, logging into the run folder), waits until ``/api/v2/monitor/health`` reports them healthy, and
stops them and drops the database on exit, on an exception, on Ctrl-C, SIGTERM or SIGHUP, and at
interpreter exit. Pipelines reach Airflow through the ``gathering`` DAG bundle, which reads the run's
``pipelines/`` folder.

With ``CeleryExecutor`` (see ``celery_workers.py``) it also starts two Celery workers on a Redis broker.

Run one by hand (Ctrl-C stops it)::

    .venv/bin/python -m e2e.deployment --pipelines e2e/pipelines
    .venv/bin/python -m e2e.deployment --executor CeleryExecutor --pipelines dags/pipelines
"""

from __future__ import annotations

import argparse
import atexit
import configparser
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import psutil
import requests
from cryptography.fernet import Fernet

from e2e import celery_workers
from e2e.client import FINISHED_RUN_STATES, AirflowClient
from e2e.database import Database
from e2e.network import HOST, free_ports
from e2e.waiting import wait_for

T = TypeVar("T")

ADMIN = "admin"
PIPELINE_SUFFIXES = (".json", ".yaml", ".yml")
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
MIGRATE_TIMEOUT = 300.0
START_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
RUN_TIMEOUT = 120.0
LOG_TAIL_LINES = 40

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"

Config = Mapping[str, Mapping[str, str]]


class DeploymentError(RuntimeError):
    """The deployment could not start, or one of its processes died."""


@dataclass(frozen=True)
class ProcessSpec:
    """A long-running ``airflow`` process: its arguments and its own environment additions."""

    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def _nothing(_: Deployment) -> None:
    return None


def _no_processes(_: Deployment) -> Mapping[str, ProcessSpec]:
    return {}


@dataclass(frozen=True)
class ExecutorSetup:
    """What an executor adds to a deployment.

    :param config: the deployment's extra ``airflow.cfg`` sections (it may read the database, the ports...).
    :param processes: extra long-running processes (e.g. workers), by name; called once per deployment.
    :param prepare: runs before the configuration is written (e.g. claim and clear a broker); what it
        holds until the deployment stops goes into ``Deployment.held``.
    :param ready: waits, bounded, until the extra processes serve (the health endpoint does not list them).
    :param cleanup: runs after every process stopped.
    """

    name: str
    config: Callable[[Deployment], Config]
    processes: Callable[[Deployment], Mapping[str, ProcessSpec]] = _no_processes
    prepare: Callable[[Deployment], None] = _nothing
    ready: Callable[[Deployment], None] = _nothing
    cleanup: Callable[[Deployment], None] = _nothing


LOCAL_EXECUTOR = ExecutorSetup(
    "LocalExecutor", lambda _: {"core": {"executor": "LocalExecutor", "parallelism": "8"}}
)
CELERY_EXECUTOR = ExecutorSetup(
    "CeleryExecutor",
    celery_workers.config,
    processes=celery_workers.processes,
    prepare=celery_workers.claim_broker,
    ready=celery_workers.wait_ready,
    cleanup=celery_workers.flush_broker,
)
EXECUTORS: dict[str, ExecutorSetup] = {setup.name: setup for setup in (LOCAL_EXECUTOR, CELERY_EXECUTOR)}


def gathering_bundle(pipelines_folder: Path) -> dict[str, Any]:
    """The ``gathering`` DAG bundle serving the pipeline files of ``pipelines_folder``."""
    return {
        "name": "gathering",
        "classpath": "gathering_provider.bundles.PipelineBundle",
        "kwargs": {"pipelines_folder": str(pipelines_folder)},
    }


@dataclass
class Component:
    """One running Airflow process, leader of its own process group."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def descendants(self) -> list[psutil.Process]:
        """Every process below the leader, whatever its group (task runners lead groups of their own)."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, timeout: float) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL what is left of the group and below."""
        below = self.descendants()
        self.signal_group(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        self.kill(below)

    def kill(self, below: list[psutil.Process] | None = None) -> list[int]:
        """SIGKILL the group and every process below the leader, as losing the host would; returns the
        pids killed below the leader."""
        below = self.descendants() if below is None else below
        self.signal_group(signal.SIGKILL)
        for process in below:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        self.process.wait(STOP_TIMEOUT)
        psutil.wait_procs(below, timeout=STOP_TIMEOUT)
        return [process.pid for process in below]


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or a note that it is missing."""
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Deployment:
    """A fresh Airflow deployment on PostgreSQL; use as a context manager, or ``start()``/``stop()``.

    :param executor: a key of ``EXECUTORS``.
    :param run_dir: where the run's files go (default: a new folder in the system temp dir); kept on exit.
    :param bundles: ``[dag_processor] dag_bundle_config_list`` (default: the gathering bundle on
        ``<run_dir>/pipelines``).
    :param config: extra ``{section: {option: value}}``, applied last.
    """

    def __init__(
        self,
        executor: str = "LocalExecutor",
        run_dir: Path | None = None,
        bundles: list[dict[str, Any]] | None = None,
        config: Config | None = None,
    ) -> None:
        if executor not in EXECUTORS:
            raise ValueError(f"unknown executor {executor!r}; choose from {sorted(EXECUTORS)}")
        self.executor = EXECUTORS[executor]
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="gathering-e2e-"))
        self.home = self.run_dir / "airflow_home"
        self.pipelines_folder = self.run_dir / "pipelines"
        self.logs = self.run_dir / "logs"
        self.bundles = bundles if bundles is not None else [gathering_bundle(self.pipelines_folder)]
        self.extra_config = config or {}
        self.api_port, self.worker_log_port, self.trigger_log_port = free_ports(3)
        self.database: Database | None = None
        self.components: list[Component] = []
        self.process_specs: dict[str, ProcessSpec] = {}
        self.worker_ports: dict[str, int] = {}  # log-server ports of the executor's workers, by name
        self.broker_url: str | None = None  # the executor's message broker, if it has one
        self.held = ExitStack()  # what the executor holds until the deployment stops
        self._prepared = False
        self._previous_handlers: dict[int, Any] = {}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    # Life cycle.

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Deployment:
        """Create the database and home, migrate, start every process and wait until they are healthy."""
        atexit.register(self.stop)
        self._catch_signals()
        try:
            for folder in (self.home, self.pipelines_folder, self.logs, self.run_dir / "dags"):
                folder.mkdir(parents=True, exist_ok=True)
            self.database = Database.create()
            self._prepared = True
            self.executor.prepare(self)
            self._write_config()
            self._migrate()
            self._start_components()
            self.wait_healthy()
            self.executor.ready(self)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process (by process group, and what runs below it), let the executor clean up, then
        drop the database. Safe to call twice."""
        atexit.unregister(self.stop)
        components, self.components = self.components, []
        database, self.database = self.database, None
        prepared, self._prepared = self._prepared, False
        held, self.held = self.held, ExitStack()
        with ExitStack() as later:  # each runs, last registered first, even if the one before raised
            later.callback(self._restore_signals)
            if database is not None:
                later.callback(database.drop)
            later.push(held)
            if prepared:
                later.callback(self.executor.cleanup, self)
            for component in reversed(components):
                component.signal_group(signal.SIGTERM)
            for component in reversed(components):
                component.stop(STOP_TIMEOUT)

    def _catch_signals(self) -> None:
        """Turn SIGTERM and SIGHUP into ``KeyboardInterrupt``, as Ctrl-C, so that clean-up runs.

        pytest ends the session on it and tears the fixtures down. Main thread only.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self._previous_handlers[signum] = signal.signal(signum, _interrupt_on_signal)

    def _restore_signals(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers.clear()

    # Set-up.

    def _config(self) -> dict[str, dict[str, str]]:
        """The ``airflow.cfg`` contents, by section, with fresh secrets."""
        assert self.database is not None
        api = f"http://{HOST}:{self.api_port}"
        sections: dict[str, dict[str, str]] = {
            "core": {
                "dags_folder": str(self.run_dir / "dags"),
                "load_examples": "False",
                "fernet_key": Fernet.generate_key().decode(),
                "dags_are_paused_at_creation": "True",
                "execution_api_server_url": f"{api}/execution/",
                "auth_manager": SIMPLE_AUTH_MANAGER,
                "simple_auth_manager_users": f"{ADMIN}:admin",
            },
            "database": {"sql_alchemy_conn": self.database.url},
            "api": {
                "host": HOST,
                "port": str(self.api_port),
                "base_url": api,
                "workers": "1",
                "secret_key": secrets.token_urlsafe(32),
            },
            "api_auth": {"jwt_secret": secrets.token_urlsafe(64)},
            "logging": {
                "base_log_folder": str(self.home / "logs"),
                "worker_log_server_port": str(self.worker_log_port),
                "trigger_log_server_port": str(self.trigger_log_port),
            },
            "dag_processor": {
                "dag_bundle_config_list": json.dumps(self.bundles),
                "dag_bundle_storage_path": str(self.run_dir / "bundles"),
                "refresh_interval": "5",
                "bundle_refresh_check_interval": "2",
                "min_file_process_interval": "10",
            },
        }
        for overrides in (self.executor.config(self), self.extra_config):
            for section, options in overrides.items():
                sections.setdefault(section, {}).update(options)
        return sections

    def _write_config(self) -> None:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_dict(self._config())
        with (self.home / "airflow.cfg").open("w") as file:
            parser.write(file)

    def environment(self) -> dict[str, str]:
        """The environment of every Airflow process: ours, without any inherited Airflow setting."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update({"AIRFLOW_HOME": str(self.home), "PYTHONUNBUFFERED": "1"})
        return env

    def airflow(self, *args: str, log: str, timeout: float) -> None:
        """Run ``airflow <args>`` to completion, logging into ``logs/<log>.log``."""
        path = self.logs / f"{log}.log"
        with path.open("wb") as output:
            try:
                result = subprocess.run(
                    [airflow_executable(), *args],
                    env=self.environment(),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise DeploymentError(f"airflow {' '.join(args)} took over {timeout:.0f} s") from error
        if result.returncode != 0:
            raise DeploymentError(
                f"airflow {' '.join(args)} exited with {result.returncode}:\n{log_tail(path)}"
            )

    def _migrate(self) -> None:
        self.airflow("db", "migrate", log="migrate", timeout=MIGRATE_TIMEOUT)

    def _start_components(self) -> None:
        self.process_specs = {
            "api-server": ProcessSpec(("api-server",)),
            "scheduler": ProcessSpec(("scheduler",)),
            "dag-processor": ProcessSpec(("dag-processor",)),
            "triggerer": ProcessSpec(("triggerer",)),
            **self.executor.processes(self),
        }
        for name, spec in self.process_specs.items():
            self.components.append(self._spawn(name, spec))

    def _spawn(self, name: str, spec: ProcessSpec, mode: str = "wb") -> Component:
        log = self.logs / f"{name}.log"
        with log.open(mode) as output:
            process = subprocess.Popen(
                [airflow_executable(), *spec.args],
                env={**self.environment(), **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Component(name, process, log)

    def component(self, name: str) -> Component:
        return next(component for component in self.components if component.name == name)

    def kill(self, name: str) -> list[int]:
        """SIGKILL a process, its group and every process below it, as losing its host would.

        It no longer counts as part of the deployment (``check_alive`` ignores it) until ``restart``.
        Returns the pids killed below it.
        """
        component = self.component(name)
        self.components.remove(component)
        return component.kill()

    def restart(self, name: str) -> Component:
        """Start a process again as it was first started (its log is appended to)."""
        if any(component.name == name for component in self.components):
            raise DeploymentError(f"{name} is running")
        component = self._spawn(name, self.process_specs[name], mode="ab")
        self.components.append(component)
        return component

    # Checks and waits.

    def check_alive(self) -> None:
        """Raise ``DeploymentError`` with the end of its log if a process has exited."""
        for component in self.components:
            code = component.process.poll()
            if code is not None:
                raise DeploymentError(
                    f"{component.name} exited with {code}; end of {component.log}:\n{log_tail(component.log)}"
                )

    def wait_for(
        self,
        fetch: Callable[[], T],
        until: Callable[[T], bool],
        *,
        what: str,
        timeout: float,
        interval: float = 0.5,
    ) -> T:
        """``wait_for`` that also fails at once when a process of the deployment dies."""
        return wait_for(
            fetch,
            until,
            what=what,
            timeout=timeout,
            interval=interval,
            tolerate=(requests.ConnectionError,),
            check=self.check_alive,
        )

    def health(self) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/api/v2/monitor/health", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Wait until the health endpoint reports every component healthy."""
        return self.wait_for(
            self.health,
            lambda health: all(
                (health.get(part) or {}).get("status") == "healthy" for part in HEALTHY_COMPONENTS
            ),
            what=f"{', '.join(HEALTHY_COMPONENTS)} healthy at {self.url}",
            timeout=timeout,
        )

    # What the tests use.

    @property
    def admin_password(self) -> str:
        """The admin password the simple auth manager generated."""
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())[ADMIN]

    def client(self) -> AirflowClient:
        """An API client logged in as the admin user."""
        return AirflowClient(self.url, ADMIN, self.admin_password).login()

    def add_pipelines(self, *files: Path) -> list[Path]:
        """Copy pipeline files into the pipelines folder the bundle serves."""
        return [Path(shutil.copy(file, self.pipelines_folder / file.name)) for file in files]

    def remove_pipelines(self, *names: str) -> None:
        for name in names:
            (self.pipelines_folder / name).unlink(missing_ok=True)

    def wait_for_dags(
        self, client: AirflowClient, dag_ids: set[str], timeout: float = 120.0
    ) -> dict[str, Any]:
        """Wait until every DAG of ``dag_ids`` is listed and not stale; returns all DAGs by id."""
        return self.wait_for(
            client.dags,
            lambda dags: all(dag_id in dags and not dags[dag_id]["is_stale"] for dag_id in dag_ids),
            what=f"DAGs {sorted(dag_ids)} listed and not stale",
            timeout=timeout,
        )

    def wait_past_running(self, client: AirflowClient, dag_id: str, run_id: str, task_id: str) -> str:
        """Wait until a task of a run has left ``running`` (polled closely, to catch ``deferred``) and
        return its state."""
        states = self.wait_for(
            lambda: client.task_states(dag_id, run_id),
            lambda states: states.get(task_id) not in (None, "scheduled", "queued", "running"),
            what=f"task {dag_id}/{run_id}/{task_id} to leave running",
            timeout=90,
            interval=0.2,
        )
        return states[task_id]

    def wait_for_run(
        self, client: AirflowClient, dag_id: str, run_id: str, timeout: float = RUN_TIMEOUT
    ) -> dict[str, Any]:
        """Wait until a run finishes (success or failed) and return it."""
        return self.wait_for(
            lambda: client.dag_run(dag_id, run_id),
            lambda run: run["state"] in FINISHED_RUN_STATES,
            what=f"run {dag_id}/{run_id} to finish",
            timeout=timeout,
        )


def airflow_executable() -> str:
    """The ``airflow`` command beside the running interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).with_name("airflow")
    found = str(beside) if beside.exists() else shutil.which("airflow")
    if found is None:
        raise DeploymentError("no airflow executable beside the interpreter nor on PATH")
    return found


def _interrupt_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pipeline_files(folder: Path) -> list[Path]:
    """The pipeline files directly inside ``folder``, by name."""
    return sorted(path for path in folder.iterdir() if path.suffix in PIPELINE_SUFFIXES)


def main(argv: list[str] | None = None) -> None:
    """Start a deployment, print how to reach it, and keep it up until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m e2e.deployment", description=main.__doc__)
    parser.add_argument("--executor", choices=sorted(EXECUTORS), default="LocalExecutor")
    parser.add_argument("--pipelines", type=Path, help="folder whose pipeline files are deployed")
    parser.add_argument(
        "--run-dir", type=Path, help="folder for the run's files (default: a new temp folder)"
    )
    args = parser.parse_args(argv)
    with Deployment(args.executor, run_dir=args.run_dir) as running:
        if args.pipelines:
            running.add_pipelines(*pipeline_files(args.pipelines))
        print(f"Airflow {running.url}  user {ADMIN}  password {running.admin_password}")
        print(f"run folder {running.run_dir}  (Ctrl-C stops)", flush=True)
        stopped = threading.Event()
        try:
            while not stopped.wait(2.0):
                running.check_alive()
        except KeyboardInterrupt:
            print("stopping", flush=True)


if __name__ == "__main__":
    main()
