"""The checks that need Airflow: schedules (Airflow's cron timetable) and params (Airflow's ``Param``).

:func:`~gathering_provider.validation.validator.validate_text` imports this module only when it runs
them, so the validator itself imports without Airflow; ``gathering-validate`` skips these checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gathering_provider.compilation.params import to_params
from gathering_provider.compilation.schedule import (
    ScheduleError,
    check_cron,
    deciding_triggers,
    resolve_schedule,
)
from gathering_provider.definition.models import TriggerNode
from gathering_provider.validation.problems import Spot

if TYPE_CHECKING:
    from gathering_provider.validation.validator import ValidationResult


def check_schedule(
    result: ValidationResult, schedule: str | None, triggers: list[TriggerNode], positions: dict[str, int]
) -> None:
    """Check the top-level schedule, every schedule trigger's cron, and which trigger decides."""
    if schedule is not None:
        try:
            resolve_schedule(schedule, [])
        except ScheduleError as err:
            result.error("invalid-schedule", str(err), at=Spot(("schedule",)))
    for node in triggers:
        if node.config.trigger_type == "schedule":
            try:
                check_cron(str(node.config.cron))
            except ScheduleError as err:
                result.error(
                    "invalid-cron",
                    str(err),
                    node=node.id,
                    at=Spot(("nodes", positions[node.id], "config", "cron")),
                )
    deciding = deciding_triggers(triggers)
    if schedule is None and len(deciding) > 1:
        result.warning(
            "multiple-triggers",
            f"several trigger nodes set a schedule or an event; {deciding[0].id!r} decides it",
            node=deciding[1].id,
        )


def check_params(result: ValidationResult, params: dict[str, Any]) -> None:
    """Check that each param becomes an Airflow ``Param`` (its default matches its schema)."""
    for name, spec in params.items():
        try:
            to_params({name: spec})
        except ValueError as err:
            result.error("invalid-params", str(err), at=Spot(("params", name)))
