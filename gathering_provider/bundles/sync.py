"""Keep a folder of generated DAG files in line with a folder of pipeline files.

``orders.json`` becomes ``orders.json.py`` (sub-folders are kept), so each pipeline is its own parse unit
and Airflow's import errors name the pipeline file. Output depends only on the pipeline files, and every
write is atomic (a temporary file renamed into place), so processes syncing the same folder agree.

A manifest remembers each pipeline file's modification time and size, so an unchanged file costs one
``stat``. As in git's index, a file modified shortly before a sync is not remembered, and is read again at
the next sync: a change within the file system's timestamp granularity would keep its time. Every sync
touches the manifest, so its modification time tells when the folder was last synced.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from gathering_provider.bundles.dag_file import render
from gathering_provider.definition.loader import (
    PipelineFileError,
    folder_files,
    folder_pipeline_files,
    read_text,
)
from gathering_provider.files import read_json_object, write_atomic, write_if_changed

SUFFIX = ".py"
UNREADABLE = "unreadable-folder"
MANIFEST = ".gathering-manifest.json"
RACY_SECONDS = 2.0
"""A pipeline file modified this close to a sync is read again at the next one."""


@dataclass
class SyncReport:
    """What a sync changed, by generated file path relative to the target folder."""

    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def generated_name(source: str) -> str:
    """The generated DAG file's relative path for a pipeline file's relative path, or for a folder that
    cannot be listed (``locked/`` becomes ``locked.unreadable-folder.py``, the folder itself
    ``unreadable-folder.py``): its file is that folder's import error."""
    if source.endswith("/"):
        return f"{source.removeprefix('./').removesuffix('/')}.{UNREADABLE}".lstrip(".") + SUFFIX
    return source + SUFFIX


def sync_folder(pipelines: Path, target: Path) -> SyncReport:
    """Write, rewrite and delete generated DAG files so that ``target`` mirrors ``pipelines``."""
    report = SyncReport()
    target.mkdir(parents=True, exist_ok=True)
    known = read_json_object(target / MANIFEST)
    settled_before = time.time_ns() - int(RACY_SECONDS * 1e9)
    present = set(folder_files(target, lambda name: name.endswith(SUFFIX)))
    stamps: dict[str, list[int] | None] = {}
    sources = folder_pipeline_files(pipelines)
    unlisted = [source.removeprefix("./") for source in sources if source.endswith("/")]
    for source in sources:
        name = generated_name(source)
        try:
            stat = os.stat(os.path.join(pipelines, source))
        except FileNotFoundError:  # removed since listed
            continue
        stamp = [stat.st_mtime_ns, stat.st_size]
        if known.get(source) == stamp and name in present:
            stamps[source] = stamp
            continue
        try:
            text: str | PipelineFileError = read_text(pipelines / source)
        except PipelineFileError as err:
            text = err
        settled = stat.st_mtime_ns < settled_before and not isinstance(text, PipelineFileError)
        stamps[source] = stamp if settled else None  # not settled: read again next time
        if write_if_changed(target / name, render(source, text)):
            report.written.append(name)
    expected = {generated_name(source) for source in stamps}
    for stale in sorted(present - expected):
        if any(stale.startswith(folder) for folder in unlisted):  # unknown until the folder can be read
            continue
        (target / stale).unlink(missing_ok=True)
        report.removed.append(stale)
    if stamps != known:
        write_atomic(target / MANIFEST, json.dumps(stamps, sort_keys=True))
    else:
        os.utime(target / MANIFEST)
    return report


def seconds_since_sync(target: Path) -> float | None:
    """How long ago ``target`` was last synced; ``None`` when it never was."""
    try:
        return time.time() - (target / MANIFEST).stat().st_mtime
    except FileNotFoundError:
        return None
