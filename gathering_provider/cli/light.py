"""``gathering-validate``: ``airflow gathering validate`` without Airflow, for editors and pre-commit.

It never imports Airflow, so it starts in a fraction of the time. It runs the same validator and the same
checks across files, and skips what needs Airflow (said in one ``info`` line): schedules and params, the
DAG build, and ``airflow.cfg`` (the ``[gathering]`` limits come from ``AIRFLOW__GATHERING__*`` variables
and the defaults).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gathering_provider import config
from gathering_provider.cli.arguments import OUTPUT, PATHS, STRICT, VALIDATE_DESCRIPTION
from gathering_provider.cli.report import report
from gathering_provider.compilation.pipeline_set import check_together
from gathering_provider.definition.limits import Limits
from gathering_provider.definition.loader import pipeline_files
from gathering_provider.validation.problems import Problem, Severity
from gathering_provider.validation.validator import validate_file

SKIPPED = Problem(
    file="",
    severity=Severity.INFO,
    code="skipped-checks",
    message="without Airflow, schedules (cron expressions, the deciding trigger), params and the DAG build "
    "are not checked, and the [gathering] limits come from AIRFLOW__GATHERING__* and the defaults, not "
    "airflow.cfg: airflow gathering validate checks them all",
)


def main(argv: Sequence[str] | None = None) -> None:
    """Validate pipeline files and folders as ``airflow gathering validate`` does, without Airflow; exit 0,
    1 (errors; with ``--strict``, warnings too) or 2 (usage error)."""
    parser = argparse.ArgumentParser(
        prog="gathering-validate",
        description=f"{VALIDATE_DESCRIPTION} Runs without Airflow: the checks that need it are skipped.",
    )
    for spec in (PATHS, OUTPUT, STRICT):
        parser.add_argument(*spec["flags"], **{key: value for key, value in spec.items() if key != "flags"})
    args = parser.parse_args(argv)
    paths = [Path(path) for path in args.paths]
    limits = Limits.read(config.environment_section())
    results = [validate_file(path, limits, with_airflow=False) for path in pipeline_files(paths)]
    check_together(results)
    sys.exit(report(results, paths, args.output, args.strict, notes=[SKIPPED]))
