"""What ``airflow gathering`` commands do."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gathering_provider.validation.problems import Severity
from gathering_provider.validation.validator import validate_paths

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


def validate(args: argparse.Namespace) -> None:
    """Validate pipeline files and folders; exit 0, 1 (errors) or 2 (missing path)."""
    paths = [Path(path) for path in args.paths]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    results = validate_paths(paths)
    problems = [problem for result in results for problem in result.problems]
    if args.output == "json":
        print(json.dumps([problem.model_dump(mode="json") for problem in problems], indent=2))
    else:
        for problem in problems:
            print(problem)
        counts = {severity: sum(p.severity is severity for p in problems) for severity in Severity}
        print(
            f"{len(results)} file(s) checked: {counts[Severity.ERROR]} error(s), "
            f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info"
        )
    sys.exit(EXIT_ERRORS if any(result.errors for result in results) else EXIT_OK)
