"""What ``airflow gathering`` commands do."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gathering_provider.cli.report import EXIT_ERRORS, EXIT_USAGE, report
from gathering_provider.cli.report import EXIT_OK as EXIT_OK  # the other commands take the exit codes here
from gathering_provider.compilation.pipeline_file import compile_paths
from gathering_provider.resilience.breaker import BreakerState, utcnow
from gathering_provider.resilience.settings import BREAKER_PREFIX, dag_of


def validate(args: argparse.Namespace) -> None:
    """Validate (and compile) pipeline files and folders; exit 0, 1 (errors; with ``--strict``, warnings
    too) or 2 (no path, or a path that does not exist). Every outcome is reported in the chosen format:
    ``--output json`` always prints a JSON list."""
    paths = [Path(path) for path in args.paths]
    results = compile_paths(paths)
    sys.exit(report([result.validation for result in results], paths, args.output, args.strict))


def _breakers(dag_id: str | None) -> dict[str, BreakerState | None]:
    """Stored breakers (``None`` for a corrupt value), optionally only those the DAG ``dag_id`` uses:
    its nodes' own breakers and the shared ones its nodes are recorded in (the DAG id matched exactly)."""
    from gathering_provider.resilience.metadata_store import MetadataVariableStore

    now = utcnow()
    breakers: dict[str, BreakerState | None] = {}
    for key, text in sorted(MetadataVariableStore().items(BREAKER_PREFIX).items()):
        try:
            state: BreakerState | None = BreakerState.parse(text, now)
        except ValueError:
            state = None
        names = [key.removeprefix(BREAKER_PREFIX), *(state.nodes if state else ())]
        if dag_id is None or any(dag_of(name) == dag_id for name in names):
            breakers[key] = state
    return breakers


def _row(key: str, state: BreakerState | None) -> dict[str, object]:
    if state is None:
        fields = ("failures", "threshold", "retry_at", "last_error", "last_error_at", "nodes")
        return {"key": key, "state": "corrupt", **dict.fromkeys(fields)}
    retry_at = state.retry_at
    return {
        "key": key,
        "state": state.state,
        "failures": state.failure_count,
        "threshold": state.failure_threshold,
        "retry_at": retry_at.isoformat() if retry_at else None,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at.isoformat() if state.last_error_at else None,
        "nodes": state.nodes,
    }


def breakers_list(args: argparse.Namespace) -> None:
    """Print every breaker: key, state, failures and when an open one lets a probe through."""
    rows = [_row(key, state) for key, state in _breakers(args.dag_id).items()]
    if args.state:
        rows = [row for row in rows if row["state"] == args.state]
    if args.output == "json":
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("No circuit breakers.")
        return
    width = max(len(str(row["key"])) for row in rows)
    print(f"{'KEY':<{width}}  {'STATE':<9}  {'FAILURES':<8}  PROBE ALLOWED AT")
    for row in rows:
        failures = f"{row['failures']}/{row['threshold']}" if row["failures"] is not None else "-"
        print(f"{row['key']:<{width}}  {row['state']:<9}  {failures:<8}  {row['retry_at'] or '-'}")


def breakers_reset(args: argparse.Namespace) -> None:
    """Reset breakers (delete their state: an absent breaker is closed); exit 2 on a usage error."""
    from gathering_provider.resilience.metadata_store import MetadataVariableStore

    chosen = sum((bool(args.keys), args.dag_id is not None, args.all))
    if chosen != 1:
        print("error: give breaker keys, --dag-id or --all (exactly one)", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    store = MetadataVariableStore()
    if args.keys:
        keys = [key if key.startswith(BREAKER_PREFIX) else BREAKER_PREFIX + key for key in args.keys]
        missing = [key for key in keys if store.get(key) is None]
        if missing:
            print(f"error: no such breaker: {', '.join(missing)}", file=sys.stderr)
            sys.exit(EXIT_ERRORS)
    else:
        keys = list(_breakers(None if args.all else args.dag_id))
    for key in keys:
        store.delete(key)
        print(f"Reset {key}")
    if not keys:
        print("No circuit breakers to reset.")
