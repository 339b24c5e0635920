"""The DAG schedule a pipeline asks for: top-level ``schedule``, else what its trigger node says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from airflow.sdk import Asset, CronTriggerTimetable
from croniter import CroniterBadDateError, croniter

from gathering_provider.definition.models import TriggerNode

NON_CRON_SCHEDULES = ("@once", "@continuous")

Schedule = str | Asset | None


class ScheduleError(ValueError):
    """A schedule Airflow cannot run."""


def check_cron(expression: str) -> str:
    """Return ``expression`` if Airflow accepts it as a cron expression or preset that fires, else raise."""
    try:
        CronTriggerTimetable(expression, timezone="UTC").validate()
    except Exception as err:
        raise ScheduleError(f"invalid cron expression {expression!r}: {err}") from err
    try:
        croniter(expression, datetime(2024, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError as err:
        raise ScheduleError(f"cron expression {expression!r} never fires (no such date)") from err
    return expression


def deciding_triggers(triggers: Sequence[TriggerNode]) -> list[TriggerNode]:
    """Trigger nodes whose config sets a schedule or an event."""
    return [node for node in triggers if node.config.trigger_type in ("schedule", "event")]


def resolve_schedule(schedule: str | None, triggers: Sequence[TriggerNode]) -> Schedule:
    """The schedule for a DAG; the first deciding trigger node wins when no top-level one is set."""
    if schedule is not None:
        return schedule if schedule in NON_CRON_SCHEDULES else check_cron(schedule)
    deciding = deciding_triggers(triggers)
    if not deciding:
        return None
    config = deciding[0].config
    if config.trigger_type == "event":
        return Asset(name=str(config.event))
    return check_cron(str(config.cron))
