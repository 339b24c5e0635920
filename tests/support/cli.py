"""Run ``airflow`` and ``gathering-validate`` as real subprocesses of the session's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
GATHERING_VALIDATE = str(Path(sys.executable).with_name("gathering-validate"))


def airflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``airflow *args`` with extra environment variables; never raises on a non-zero exit."""
    return run(AIRFLOW, *args, **env)


def gathering_validate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``gathering-validate *args`` with extra environment variables; never raises on a non-zero
    exit."""
    return run(GATHERING_VALIDATE, *args, **env)


def run(program: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``program *args`` with extra environment variables; never raises on a non-zero exit."""
    return subprocess.run(
        [program, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False
    )


def json_output(result: subprocess.CompletedProcess[str]) -> Any:
    """The JSON document a command printed, skipping the warnings Airflow prints to stdout before it."""
    lines = result.stdout.splitlines()
    for start, line in enumerate(lines):
        if line.startswith(("[", "{")):
            try:
                return json.loads("\n".join(lines[start:]))
            except json.JSONDecodeError:
                continue
    raise AssertionError(f"no JSON document in the output:\n{result.stdout}")
