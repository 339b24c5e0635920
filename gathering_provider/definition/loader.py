"""Read pipeline files (JSON or YAML) into plain data, with the line and column of syntax errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

PIPELINE_SUFFIXES = (".json", ".yaml", ".yml")


class PipelineFileError(ValueError):
    """A pipeline file that cannot be read as one JSON or YAML object."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


def is_pipeline_file(path: Path) -> bool:
    """Whether ``path`` names a pipeline file by its suffix."""
    return path.suffix.lower() in PIPELINE_SUFFIXES


def load_document(path: Path) -> dict[str, Any]:
    """Parse ``path`` with a safe loader; raise :class:`PipelineFileError` on any defect."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineFileError(f"cannot read file: {err}") from err
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise PipelineFileError(f"invalid JSON: {err.msg}", err.lineno, err.colno) from err
    else:
        try:
            document = yaml.safe_load(text)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            problem = err.problem or err.context or "syntax error"
            line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
            raise PipelineFileError(f"invalid YAML: {problem}", line, column) from err
        except yaml.YAMLError as err:
            raise PipelineFileError(f"invalid YAML: {err}") from err
    if not isinstance(document, dict):
        raise PipelineFileError(f"expected one pipeline object, found {type(document).__name__}")
    return document
