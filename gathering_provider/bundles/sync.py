"""Keep a folder of generated DAG files in line with a folder of pipeline files.

``orders.json`` becomes ``orders.json.py`` (sub-folders are kept), so each pipeline is its own parse unit
and Airflow's import errors name the pipeline file. Output depends only on the pipeline files, and every
write is atomic (a temporary file renamed into place), so processes syncing the same folder agree.

A manifest remembers each pipeline file's modification time and size, so an unchanged file costs one
``stat``. As in git's index, a file modified shortly before the previous sync is read again, since
a change within the file system's timestamp granularity would keep its time.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gathering_provider.bundles.dag_file import render
from gathering_provider.definition.loader import PipelineFileError, pipeline_files, read_text

SUFFIX = ".py"
MANIFEST = ".gathering-manifest.json"
RACY_SECONDS = 2.0
"""Pipeline files modified this close to the previous sync are read again, whatever the manifest says."""


@dataclass
class SyncReport:
    """What a sync changed, by generated file path relative to the target folder."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def generated_name(source: str) -> str:
    """The generated DAG file's relative path for a pipeline file's relative path."""
    return source + SUFFIX


def sync_folder(pipelines: Path, target: Path) -> SyncReport:
    """Write, rewrite and delete generated DAG files so that ``target`` mirrors ``pipelines``."""
    report = SyncReport()
    target.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(target)
    racy_after = manifest.get("synced_at", 0) - RACY_SECONDS * 1e9
    started = time.time_ns()
    stamps: dict[str, list[int]] = {}
    for path in pipeline_files([pipelines]) if pipelines.is_dir() else []:
        source = path.relative_to(pipelines).as_posix()
        name = generated_name(source)
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed since listed
            continue
        stamp = [stat.st_mtime_ns, stat.st_size]
        stamps[source] = stamp
        unchanged = manifest["files"].get(source) == stamp and stat.st_mtime_ns < racy_after
        if unchanged and (target / name).exists():
            continue
        try:
            text: str | PipelineFileError = read_text(path)
        except PipelineFileError as err:
            text = err
            stamp[0] = -1  # read again next time; meanwhile its DAG file reports the error
        if _write_if_changed(target / name, render(source, text)):
            report.written.append(name)
    expected = {generated_name(source) for source in stamps}
    for existing in sorted(target.rglob(f"*{SUFFIX}")):
        name = existing.relative_to(target).as_posix()
        if name not in expected:
            existing.unlink(missing_ok=True)
            report.removed.append(name)
    if stamps != manifest["files"] or report.written or report.removed:
        _write_atomic(target / MANIFEST, json.dumps({"synced_at": started, "files": stamps}, sort_keys=True))
    return report


def _read_manifest(target: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict):
        return manifest
    return {"synced_at": 0, "files": {}}


def _write_if_changed(path: Path, content: str) -> bool:
    try:
        if path.read_text(encoding="utf-8") == content:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    _write_atomic(path, content)
    return True


def _write_atomic(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
