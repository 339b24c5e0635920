"""The action node: call an API, send a webhook notification, run a nested pipeline, or record an action
without a handler."""

from __future__ import annotations

import hashlib
import hmac
import json
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook, Context, DagRunState
from airflow.sdk.api.client import ServerResponseError
from airflow.sdk.bases.xcom import BaseXCom
from airflow.sdk.exceptions import AirflowRuntimeError, DagRunTriggerException
from requests import Response

from gathering_provider import config as gathering_config
from gathering_provider.definition.models import ActionConfig, split_url
from gathering_provider.errors import NodeConfigError, NodeExecutionError
from gathering_provider.hooks.http import GatheringHttpHook, response_text, storable_json
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


def check_allowed_host(url: str) -> None:
    """Refuse an inline URL whose host matches none of ``[gathering] allowed_hosts`` (fnmatch globs)."""
    setting = gathering_config.get("allowed_hosts")
    host = urlsplit(url).hostname or ""
    patterns = (pattern.strip().lower() for pattern in setting.split(","))
    if not any(pattern and fnmatchcase(host, pattern) for pattern in patterns):
        raise NodeConfigError(
            f"host {host!r} of {url} is not allowed by [gathering] allowed_hosts ({setting!r}); "
            "reach it through an HTTP connection or add it there"
        )


def _status_code(error: AirflowRuntimeError | ServerResponseError) -> int | None:
    """The Execution API's answer status: a supervisor passes it on as detail, ``dag.test()`` as it is."""
    if isinstance(error, ServerResponseError):
        return error.response.status_code
    detail = error.error.detail
    return detail.get("status_code") if isinstance(detail, dict) else None


def signature(secret: str, body: bytes) -> str:
    """The webhook signature header value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ActionOperator(GatheringNodeOperator):
    """Run an action.

    - ``call_api``: an HTTP request to ``url`` (or ``http_conn_id`` + ``endpoint``);
    - ``send_notification`` (tool ``notify_webhook``): POST ``payload`` (and, with ``include_inputs``, the
      inputs) as JSON, signed with HMAC-SHA256 when a secret is set in the node or the connection;
    - ``execute_pipeline``: trigger the DAG ``pipeline`` with the inputs merged with ``conf`` as its conf
      (see :meth:`execute`); with ``wait``, defer until that run finishes and fail if it failed;
    - any other action: recorded with (references to) its inputs.

    A non-2xx answer fails the node. An inline ``url`` must have a host allowed by ``[gathering]
    allowed_hosts``; hosts of connections are trusted.

    :param config: the action's config.
    """

    config: ActionConfig
    ui_color = "#ffedd5"

    @property
    def records_attempts(self) -> bool:  # type: ignore[override]
        """A nested pipeline's output is the same whether the node deferred or not: no ``attempts``."""
        return not self.config.runs_pipeline

    def execute(self, context: Context) -> NodeOutput:
        """Run the action; a nested pipeline is triggered the way ``TriggerDagRunOperator`` triggers one.

        The node checks its target through the breaker and retries like any node, then raises
        ``DagRunTriggerException``: Airflow's task runner creates the run through the Execution API and,
        with ``wait``, defers the task to a ``DagStateTrigger`` that resumes it in :meth:`execute_complete`.
        """
        if not self.config.runs_pipeline:
            return super().execute(context)
        inputs = self.gather_inputs(context)
        output = self.run_node(inputs, context)
        if not self.config.wait:  # the runner ends the task without pushing a return value
            self._log_result(output)
            context["ti"].xcom_push(BaseXCom.XCOM_RETURN_KEY, output)
        raise DagRunTriggerException(
            trigger_dag_id=output["dag_id"],
            dag_run_id=output["run_id"],
            conf={**inputs, **self.config.conf},
            reset_dag_run=False,
            skip_when_already_exists=False,
            wait_for_completion=self.config.wait,
            allowed_states=[DagRunState.SUCCESS],
            failed_states=[DagRunState.FAILED],
            poke_interval=self.config.poll_interval,  # type: ignore[arg-type]  # DagStateTrigger takes float
            deferrable=True,
        )

    def execute_complete(self, context: Context, event: tuple[str, dict[str, Any]]) -> NodeOutput:
        """Finish a nested pipeline node once the run it waits for has ended; fail if the run failed."""
        _, ended = event
        (run_id,) = ended["run_ids"]
        state = DagRunState(ended[run_id])
        output = self._nested_output(ended["dag_id"], run_id, state)
        if state != DagRunState.SUCCESS:
            raise NodeExecutionError(f"pipeline {ended['dag_id']!r}: run {run_id!r} ended {state.value}")
        self._log_result(output)
        return output

    def _log_result(self, output: NodeOutput) -> None:
        self.log.info("Node %s result: %s", self.task_id, json.dumps(output, default=str)[:2000])

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        action = self.config.action
        if action == "call_api":
            return self._executed(self._call_api())
        if self.config.is_notification:
            return self._executed(self._notify(inputs))
        if self.config.runs_pipeline:
            return self._nested_run(context)
        self.log.warning("Action %r has no handler: recording it", action)
        return self.passed_on(inputs, action=action, executed=True)

    def _nested_run(self, context: Context) -> NodeOutput:
        """Check that the target pipeline is loaded and not paused; the run to trigger, queued."""
        dag_id = str(self.config.pipeline)
        try:
            target = context["ti"].get_dag(dag_id)
        except (AirflowRuntimeError, ServerResponseError) as error:
            if _status_code(error) == HTTPStatus.NOT_FOUND:
                raise NodeConfigError(f"execute_pipeline: no pipeline {dag_id!r} is loaded") from error
            raise
        if target.is_paused:
            raise NodeConfigError(f"execute_pipeline: pipeline {dag_id!r} is paused; unpause it to run it")
        ti = context["ti"]
        return self._nested_output(dag_id, f"{ti.run_id}__{ti.task_id}__{ti.try_number}", DagRunState.QUEUED)

    def _nested_output(self, dag_id: str, run_id: str, state: DagRunState) -> NodeOutput:
        return {
            "action": self.config.action,
            "executed": True,
            "dag_id": dag_id,
            "run_id": run_id,
            "state": state.value,
        }

    def _call_api(self) -> Response:
        method = (self.config.method or "GET").upper()
        if method == "GET":
            return self._request(method, data=self.config.params or None)
        return self._request(
            method, data=self.config.data, json=self.config.json_body, params=self.config.params
        )

    def _notify(self, inputs: dict[str, Any]) -> Response:
        payload = self.config.payload if self.config.payload is not None else {}
        if self.config.include_inputs and isinstance(payload, dict):
            payload = {**payload, "inputs": inputs}
        body = json.dumps(payload, default=str).encode()
        headers = {"Content-Type": "application/json", **self.config.headers}
        secret = self.config.secret or self._connection_password()
        if secret:
            headers[self.config.signature_header] = signature(secret, body)
        return self._request((self.config.method or "POST").upper(), data=body, headers=headers)

    def _hook(self, method: str) -> tuple[GatheringHttpHook, str]:
        if self.config.url:
            base_url, endpoint = split_url(self.config.url)  # first: it refuses credentials in the URL
            check_allowed_host(self.config.url)
            return GatheringHttpHook(method, base_url=base_url), endpoint
        return GatheringHttpHook(method, http_conn_id=self.config.http_conn_id), self.config.endpoint or ""

    def _connection_password(self) -> str | None:
        if not self.config.http_conn_id:
            return None
        return BaseHook.get_connection(self.config.http_conn_id).password

    def _request(
        self, method: str, *, data: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Response:
        hook, endpoint = self._hook(method)
        timeout = self.config.timeout or gathering_config.get_float("http_timeout")
        self.log.info("%s %s", method, self.config.url or f"{self.config.http_conn_id}:{endpoint}")
        return hook.run(
            endpoint,
            data=data,
            headers=headers or self.config.headers,
            extra_options={"timeout": timeout},
            **kwargs,
        )

    def _executed(self, response: Response) -> NodeOutput:
        output: NodeOutput = {
            "action": self.config.action,
            "executed": True,
            "status_code": response.status_code,
        }
        try:
            output["data"] = storable_json(response_text(response))
        except json.JSONDecodeError:
            output["text"] = response_text(response)
        except ValueError as error:
            self.log.warning("The answer is JSON an XCom cannot hold (%s): it is kept as text", error)
            output["text"] = response_text(response)
        return output
