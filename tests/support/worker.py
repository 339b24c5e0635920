"""Run task instances as an executor's worker does, and read their logs as the UI's log view does.

The worker forks a task process that parses the DAG from its bundle and writes a JSON log file, like a
``LocalExecutor`` worker; only the Execution API it talks to is served in this process instead of by an
API server.
"""

from __future__ import annotations

from airflow.executors.workloads import ExecuteTask
from airflow.models.taskinstance import TaskInstance
from airflow.sdk.api.client import Client
from airflow.sdk.execution_time.supervisor import in_process_api_server, supervise_task
from airflow.utils.log.file_task_handler import StructuredLogMessage
from airflow.utils.log.log_reader import TaskLogReader
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState
from sqlalchemy import select
from sqlalchemy.orm import Session


def task_instance(session: Session, dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    query = select(TaskInstance).where(
        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.task_id == task_id
    )
    return session.scalars(query).one()


def run_in_worker(dag_id: str, run_id: str, task_id: str) -> int:
    """Queue the task instance as the scheduler does, run it as a worker does; return the exit code."""
    with create_session() as session:
        ti = task_instance(session, dag_id, run_id, task_id)
        ti.state = TaskInstanceState.QUEUED
        ti.try_number += 1
        session.flush()
        workload = ExecuteTask.make(ti)
    client = Client(
        base_url="http://in-process.invalid./", token="", transport=in_process_api_server().transport
    )
    return supervise_task(
        ti=workload.ti,
        bundle_info=workload.bundle_info,
        dag_rel_path=workload.dag_rel_path,
        token=workload.token,
        client=client,
        log_path=workload.log_path,
    )


def task_log(dag_id: str, run_id: str, task_id: str) -> list[StructuredLogMessage]:
    """The log of the task instance's latest try, as Airflow reads it for the UI."""
    with create_session() as session:
        ti = task_instance(session, dag_id, run_id, task_id)
        messages, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})
        return list(messages)
