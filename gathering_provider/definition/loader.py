"""Find and read pipeline files (JSON or YAML) into plain data, with the line and column of syntax errors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import Any

import yaml

PIPELINE_SUFFIXES = (".json", ".yaml", ".yml")
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (same semantics, several times faster)."""


class PipelineFileError(ValueError):
    """A pipeline file that cannot be read as one JSON or YAML object."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


def is_pipeline_file(path: PurePath) -> bool:
    """Whether ``path`` names a pipeline file by its suffix."""
    return path.suffix.lower() in PIPELINE_SUFFIXES


def folder_files(folder: Path, keep: Callable[[str], bool]) -> list[str]:
    """The files under ``folder`` whose name ``keep`` accepts, recursively, as sorted relative POSIX paths."""
    found: list[str] = []
    pending = [("", str(folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir():
                    pending.append((f"{prefix}{entry.name}/", entry.path))
                elif entry.is_file() and keep(entry.name):
                    found.append(prefix + entry.name)
    return sorted(found)


def folder_pipeline_files(folder: Path) -> list[str]:
    """The pipeline files under ``folder``, recursively, as sorted relative POSIX paths."""
    return folder_files(folder, lambda name: is_pipeline_file(PurePath(name)))


def pipeline_files(paths: Iterable[Path]) -> list[Path]:
    """Each file as given, and the pipeline files of each folder (recursively, sorted); each file once,
    where it first appears, when the paths overlap."""
    files: dict[Path, Path] = {}
    for path in paths:
        found = [path / name for name in folder_pipeline_files(path)] if path.is_dir() else [path]
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def read_text(path: Path) -> str:
    """The file's text; raise :class:`PipelineFileError` when it cannot be read as UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineFileError(f"cannot read file: {err}") from err


def parse_document(text: str, source: PurePath) -> dict[str, Any]:
    """Parse pipeline text, JSON or YAML by ``source``'s suffix, with a safe loader."""
    if source.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise PipelineFileError(f"invalid JSON: {err.msg}", err.lineno, err.colno) from err
    else:
        try:
            document = yaml.load(text, Loader=YAML_LOADER)
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


def dag_id_of(document: dict[str, Any], source: PurePath) -> str:
    """The DAG id a pipeline asks for: its ``dag_id`` field, else the file name's stem."""
    dag_id = document.get("dag_id")
    return dag_id if isinstance(dag_id, str) else source.stem
