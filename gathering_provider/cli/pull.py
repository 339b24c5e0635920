"""``airflow gathering pull``: pull a gathering server's pipelines into a folder of pipeline files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

import requests
from airflow.sdk.exceptions import AirflowNotFoundException

from gathering_provider import config
from gathering_provider.cli.commands import EXIT_ERRORS, EXIT_OK, EXIT_USAGE
from gathering_provider.errors import HttpStatusError, NodeConfigError
from gathering_provider.pull import PullError, PullStatus, fetch_pipelines, pull_pipelines

ALL_STATUSES = "all"


def pull(args: argparse.Namespace) -> None:
    """Pull and report each pipeline; exit 0, 1 (an invalid pipeline, a conflict, or no answer) or 2."""
    folder = args.dest or config.get("pipelines_folder")
    if not folder:
        print("error: give --dest, or set [gathering] pipelines_folder", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    dest = Path(folder).expanduser()
    status = None if args.status == ALL_STATUSES else args.status
    # Resolve the connection as `airflow connections get` does: environment variables, the metadata DB and
    # the configured secrets backends (outside this context the Task SDK skips the metadata DB).
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"
    try:
        listing = fetch_pipelines(args.conn_id, status)
    except (
        AirflowNotFoundException,
        requests.RequestException,
        HttpStatusError,
        NodeConfigError,
        PullError,
    ) as error:
        print(f"error: cannot list the pipelines of connection {args.conn_id!r}: {error}", file=sys.stderr)
        sys.exit(EXIT_ERRORS)
    pulled = pull_pipelines(listing, dest, dry_run=args.dry_run, prune=args.prune)
    if args.output == "json":
        print(json.dumps([item.model_dump(mode="json") for item in pulled], indent=2))
    else:
        for item in pulled:
            renamed = f" (was {item.previous_file})" if item.previous_file else ""
            kept = (
                " (kept: --prune deletes it)" if item.status is PullStatus.REMOVED and not args.prune else ""
            )
            print(f"{item.status.value:<9}  {item.file or item.name}{renamed}{kept}")
            for problem in item.problems:
                print(f"  {problem}")
        counts = Counter(item.status for item in pulled)
        summary = ", ".join(f"{counts[status]} {status.value}" for status in PullStatus if counts[status])
        listed = len(pulled) - counts[PullStatus.REMOVED]
        dry = " (dry run: nothing written)" if args.dry_run else ""
        print(f"{listed} pipeline(s) from {args.conn_id!r} into {dest}: {summary or 'nothing to do'}{dry}")
    sys.exit(EXIT_ERRORS if any(item.failed for item in pulled) else EXIT_OK)
