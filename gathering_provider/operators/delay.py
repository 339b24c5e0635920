"""The delay node: wait, then pass the inputs through."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import Context, conf

from gathering_provider.definition.models import DelayConfig
from gathering_provider.operators.base import GatheringNodeOperator, NodeOutput


class DelayOperator(GatheringNodeOperator):
    """Wait ``seconds``, then pass the inputs on (as references, see :mod:`.passthrough`).

    :param config: ``seconds`` to wait; its ``deferrable``, when set, overrides the parameter.
    :param deferrable: free the worker slot while waiting by deferring to the triggerer
        (default ``[operators] default_deferrable``); otherwise sleep in the worker.
    """

    config: DelayConfig
    ui_color = "#f3f4f6"
    records_attempts = False

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = self.config.deferrable if self.config.deferrable is not None else deferrable

    def execute(self, context: Context) -> NodeOutput:
        if self.deferrable and self.config.seconds > 0:
            self.gather_inputs(context)
            self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=self.config.seconds)), method_name="resume")
        return super().execute(context)

    def resume(self, context: Context, event: Any = None) -> NodeOutput:
        """Finish after the trigger fired: gather the inputs again and pass them through."""
        return super().execute(context)

    def execute_node(self, inputs: dict[str, Any], context: Context) -> NodeOutput:
        if not self.deferrable:
            self.log.info("Waiting %s s", self.config.seconds)
            time.sleep(self.config.seconds)
        return self.passed_on(inputs)
