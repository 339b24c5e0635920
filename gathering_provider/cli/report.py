"""How ``airflow gathering validate`` and ``gathering-validate`` report; imports without Airflow.

Text output follows the compiler convention that editors and CI annotate
(``path:line:column: severity [code] node 'x': message``), each error followed by its source line with a
caret under the column; ``--output json`` prints a list of problems.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gathering_provider.validation.problems import Problem, Severity
from gathering_provider.validation.validator import ValidationResult

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
EXCERPT_WIDTH = 100
"""Characters of a source line shown under an error; a longer line is cut around the column."""


def report(
    results: Sequence[ValidationResult],
    paths: Sequence[Path],
    output: str,
    strict: bool,
    notes: Sequence[Problem] = (),
) -> int:
    """Print the problems of ``results``, located and sorted by position in each file, after ``notes``
    about the run; return the exit code: 0, 1 (errors; with ``strict``, warnings too) or 2 (no path, or
    a path that does not exist). Every outcome is reported in the chosen format."""
    for result in results:
        result.locate()
    problems = [*notes]
    for result in results:
        problems += sorted(result.problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0))
    if strict:
        problems = [
            p.model_copy(update={"severity": Severity.ERROR}) if p.severity is Severity.WARNING else p
            for p in problems
        ]
    if not paths:
        problems.append(
            Problem(file="", severity=Severity.ERROR, code="usage", message="give pipeline files or folders")
        )
    if output == "json":
        print(json.dumps([problem.model_dump(mode="json") for problem in problems], indent=2))
    else:
        _print_text(problems, {str(result.path): result.text for result in results}, len(results))
    if not paths or not all(path.exists() for path in paths):
        print("error: give existing pipeline files or folders", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_ERRORS if any(problem.severity is Severity.ERROR for problem in problems) else EXIT_OK


def _print_text(problems: Sequence[Problem], texts: dict[str, str | None], files: int) -> None:
    """Print each problem (those of no file on standard error), each error's source line, and a count."""
    lines: dict[str, list[str]] = {}
    for problem in problems:
        print(problem, file=sys.stdout if problem.file else sys.stderr)
        text = texts.get(problem.file)
        if problem.severity is Severity.ERROR and problem.line is not None and text is not None:
            if problem.file not in lines:
                lines[problem.file] = [line.removesuffix("\r") for line in text.split("\n")]
            print(*excerpt(lines[problem.file], problem.line, problem.column or 1), sep="\n")
    counts = {severity: sum(p.severity is severity for p in problems) for severity in Severity}
    print(
        f"{files} file(s) checked: {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info"
    )


def excerpt(lines: Sequence[str], line: int, column: int) -> tuple[str, str]:
    """Line ``line`` of ``lines`` and a caret under ``column`` (both 1-based), in a numbered gutter; a line
    longer than :data:`EXCERPT_WIDTH` is cut around the column, the cuts marked ``...``."""
    source = lines[line - 1] if line <= len(lines) else ""
    start = max(0, min(column - 1 - EXCERPT_WIDTH // 2, len(source) - EXCERPT_WIDTH))
    shown = ("..." if start else "") + source[start : start + EXCERPT_WIDTH]
    shown += "..." if start + EXCERPT_WIDTH < len(source) else ""
    before = ("..." if start else "") + source[start : column - 1]
    caret = "".join(char if char == "\t" else " " for char in before) + "^"
    gutter = " " * len(str(line))
    return f" {line} | {shown}", f" {gutter} | {caret}"
