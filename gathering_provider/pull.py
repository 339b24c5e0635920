"""Pull pipelines from a gathering server into a folder of pipeline files.

Each pipeline of ``GET /pipelines`` becomes ``<slug of its name>_<id>.json``: gathering's row as JSON,
without the bookkeeping fields that change at every run on gathering (``run_count``, ``updated_at``...).
Before it is written, its text is validated and compiled as ``airflow gathering validate`` does
(:func:`~gathering_provider.compilation.pipeline_file.compile_text`): an invalid pipeline is never
written and never replaces a valid file. Writes are atomic.

A manifest in the folder (:data:`MANIFEST`, hidden and not a pipeline file) lists the files pulled there
and the pipeline ids they hold, so a file written by hand is never changed nor removed, even when its
name looks pulled. A pipeline renamed on the server moves to its new file name.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gathering_provider.compilation.pipeline_file import compile_text
from gathering_provider.files import read_if_exists, read_json_object, write_atomic
from gathering_provider.hooks.gathering import GatheringHook
from gathering_provider.validation.problems import Problem, Severity

MANIFEST = ".gathering-pulled"
BOOKKEEPING = ("last_run", "run_count", "success_count", "error_count", "created_at", "updated_at")
"""gathering's fields that change when a pipeline runs there, not when it is edited: never written."""
SLUG_LENGTH = 60


class PullError(Exception):
    """The server's answer is not a list of pipelines."""


class PullStatus(StrEnum):
    """What a pull did, or would do, with one pipeline."""

    ADDED = "added"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    """Not written: its errors are listed; a valid file pulled earlier stays as it is."""
    CONFLICT = "conflict"
    """Not written: a file that was not pulled (written by hand) has its name."""
    REMOVED = "removed"
    """Pulled earlier, gone from the server's list: the file is deleted only when pruning."""


class PulledPipeline(BaseModel):
    """One pipeline's outcome: its file in the folder, its id and name on the server, and its problems."""

    file: str
    id: str | None
    name: str
    status: PullStatus
    previous_file: str | None = None
    """The file it was pulled to before, when the pipeline's name changed."""
    written: bool = False
    """Whether the server's version is written (or, on a dry run, would be)."""
    problems: list[Problem] = []

    @property
    def errors(self) -> list[Problem]:
        """The problems that keep the server's version from becoming a DAG."""
        return [problem for problem in self.problems if problem.severity is Severity.ERROR]

    @property
    def failed(self) -> bool:
        """Whether the server's version could not be written."""
        return self.status in (PullStatus.INVALID, PullStatus.CONFLICT)


@dataclass
class _Plan:
    """What a pull changes in the folder, once every pipeline is decided."""

    pipelines: list[PulledPipeline] = field(default_factory=list)
    writes: dict[str, str] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    manifest: dict[str, dict[str, Any]] = field(default_factory=dict)


def fetch_pipelines(conn_id: str, status: str | None) -> list[Any]:
    """The pipelines the gathering connection ``conn_id`` lists, of one ``status`` if given."""
    answer = GatheringHook(conn_id).list_pipelines(status)
    pipelines = answer.get("pipelines") if isinstance(answer, dict) else None
    if not isinstance(pipelines, list):
        raise PullError(f"gathering connection {conn_id!r}: GET /pipelines did not answer a 'pipelines' list")
    return pipelines


def slug(text: str) -> str:
    """``text`` as lowercase ASCII letters, digits and ``_``, at most :data:`SLUG_LENGTH` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:SLUG_LENGTH].rstrip("_")


def file_name(pipeline: dict[str, Any]) -> str:
    """``<slug of the name>_<id>.json``; its stem is the DAG id unless the pipeline sets ``dag_id``."""
    name = pipeline.get("name")
    return f"{(slug(name) if isinstance(name, str) else '') or 'pipeline'}_{slug(str(pipeline['id']))}.json"


def pipeline_text(pipeline: dict[str, Any]) -> str:
    """The file's text: the pipeline without :data:`BOOKKEEPING`, as indented JSON."""
    kept = {key: value for key, value in pipeline.items() if key not in BOOKKEEPING}
    return json.dumps(kept, indent=2, ensure_ascii=False) + "\n"


def pull_pipelines(
    pipelines: list[Any],
    folder: Path,
    *,
    dry_run: bool = False,
    prune: bool = False,
    keep_invalid: bool = False,
) -> list[PulledPipeline]:
    """Bring ``folder`` in line with the server's ``pipelines``; what happened to each, removed ones last.

    :param dry_run: decide and report, change nothing.
    :param prune: delete the files of pipelines gone from the list.
    :param keep_invalid: also write an invalid pipeline that replaces no valid file (the DAG bundle's own
        folder, where it becomes its DAG file's import error); a valid file is still never replaced.
    """
    plan = _plan(pipelines, folder, prune=prune, keep_invalid=keep_invalid)
    if not dry_run:
        for name in plan.deletes:  # first: a manifest that still lists a deleted file is harmless
            (folder / name).unlink(missing_ok=True)
        if plan.manifest != read_json_object(folder / MANIFEST):
            write_atomic(folder / MANIFEST, json.dumps(plan.manifest, indent=2, sort_keys=True) + "\n")
        for name, text in plan.writes.items():
            write_atomic(folder / name, text)
    return plan.pipelines


def _plan(pipelines: list[Any], folder: Path, *, prune: bool, keep_invalid: bool) -> _Plan:
    pulled = {  # only plain file names of this folder: a tampered manifest never reaches another file
        name: entry
        for name, entry in read_json_object(folder / MANIFEST).items()
        if isinstance(entry, dict) and name == Path(name).name and name.endswith(".json")
    }
    by_id = {str(entry.get("id")): name for name, entry in pulled.items()}
    plan, listed = _Plan(), set()
    for pipeline in pipelines:
        if not isinstance(pipeline, dict) or pipeline.get("id") is None:
            plan.pipelines.append(
                PulledPipeline(
                    file="", id=None, name=str(pipeline)[:80], status=PullStatus.INVALID, problems=[_no_id()]
                )
            )
            continue
        pipeline_id = str(pipeline["id"])
        listed.add(pipeline_id)
        _decide(plan, pipeline, folder, pulled, by_id.get(pipeline_id), keep_invalid)
    for name, entry in pulled.items():
        if str(entry.get("id")) not in listed and (folder / name).exists():  # a deleted file is forgotten
            plan.pipelines.append(
                PulledPipeline(
                    file=name, id=str(entry.get("id")), name=entry.get("name", ""), status=PullStatus.REMOVED
                )
            )
            if prune:
                plan.deletes.append(name)
            else:
                plan.manifest[name] = entry
    return plan


def _decide(
    plan: _Plan,
    pipeline: dict[str, Any],
    folder: Path,
    pulled: dict[str, dict[str, Any]],
    previous: str | None,
    keep_invalid: bool,
) -> None:
    """Decide one listed pipeline; ``previous`` is the file it was pulled to before, if any."""
    name, text = file_name(pipeline), pipeline_text(pipeline)
    pipeline_id, title = str(pipeline["id"]), str(pipeline.get("name", ""))
    current = read_if_exists(folder / name)
    outcome = PulledPipeline(file=name, id=pipeline_id, name=title, status=PullStatus.UNCHANGED)
    if previous != name:
        outcome.previous_file = previous
    holds_it = False
    if current == text and (name in pulled or previous is None):  # as pulled before, or identical: adopted
        plan.manifest[name] = pulled.get(name, {"id": pipeline_id, "name": title, "valid": True})
        holds_it = True
    elif current is not None and name not in pulled:
        outcome.status = PullStatus.CONFLICT
    else:
        compiled = compile_text(folder / name, text)
        outcome.problems = compiled.problems
        valid = not compiled.errors
        if valid:
            renamed_or_edited = previous is not None and (previous != name or current is not None)
            outcome.status = PullStatus.CHANGED if renamed_or_edited else PullStatus.ADDED
        else:
            outcome.status = PullStatus.INVALID
        if valid or (keep_invalid and (previous is None or not pulled[previous].get("valid", True))):
            plan.writes[name] = text
            plan.manifest[name] = {"id": pipeline_id, "name": title, "valid": valid}
            holds_it = outcome.written = True
    if previous is not None and previous not in plan.manifest:
        if holds_it:  # renamed on the server: the new file replaces it
            plan.deletes.append(previous)
        else:  # the version pulled before stays
            plan.manifest[previous] = pulled[previous]
    plan.pipelines.append(outcome)


def _no_id() -> Problem:
    return Problem(
        file="",
        severity="error",
        code="invalid-pipeline",
        message="a listed pipeline is not an object with an id",
    )
