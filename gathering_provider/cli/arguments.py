"""The arguments of ``airflow gathering validate`` and ``gathering-validate``, as ``flags`` and ``argparse``
keywords.

Airflow reads this module whenever its CLI starts (through :mod:`~gathering_provider.cli.definition`), so
it holds constants only.
"""

from __future__ import annotations

from typing import Any

VALIDATE_DESCRIPTION = (
    "Validate gathering pipeline files (*.json, *.yaml, *.yml). Exit code 0: no errors (warnings allowed, "
    "unless --strict); 1: some file has errors; 2: usage error or a path that does not exist."
)
PATHS: dict[str, Any] = {
    "flags": ("paths",),
    "metavar": "PATH",
    "nargs": "*",
    "help": "Pipeline files or folders of pipeline files",
}
OUTPUT: dict[str, Any] = {
    "flags": ("-o", "--output"),
    "choices": ("text", "json"),
    "default": "text",
    "help": "Output format (default: text)",
}
STRICT: dict[str, Any] = {
    "flags": ("--strict",),
    "action": "store_true",
    "help": "Treat warnings as errors (exit code 1), for CI",
}
