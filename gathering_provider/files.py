"""Small files the provider keeps: atomic writes (a temporary file in the same folder, renamed into
place), so readers (Airflow's dag-processor, a worker, another sync) see the old content or the new, never
a part; and tolerant reads of its own bookkeeping files.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` (UTF-8, line ends as given), creating its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_if_exists(path: Path) -> str | None:
    """The text of ``path``; ``None`` when it is missing or not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_if_changed(path: Path, content: str) -> bool:
    """Write ``content`` to ``path`` atomically unless it holds it already; whether it was written."""
    if read_if_exists(path) == content:
        return False
    write_atomic(path, content)
    return True


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``; empty when the file is missing or holds something else."""
    text = read_if_exists(path)
    try:
        value = json.loads(text) if text is not None else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
