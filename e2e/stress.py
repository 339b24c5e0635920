"""Repeat the breaker's probe race on a Celery deployment and count the races with exactly one probe.

Not part of ``make e2e``. It starts the Celery deployment of the end-to-end stage (two workers, two
slots each), deploys the pipeline of ``e2e.breakers`` against a local HTTP server, and runs ``--races``
races. Before each race the breaker Variable is written (through the REST API) as open since longer than
its recovery timeout, as failures and a wait would leave it; then the server answers slowly (``--hold``
seconds, success) and ``--runs`` runs are triggered at once. A race had exactly one probe when one
request reached the server, one run succeeded, every other run failed fast saying a probe was running,
and the breaker ended closed. Exits 0 when every race had exactly one probe::

    .venv/bin/python -m e2e.stress --races 10
"""

from __future__ import annotations

import argparse
import time

from e2e.breakers import PROBE_HOLD, PROBE_RACE_RUNS, ProbeRace, deploy_flaky, make_due, probe_race
from e2e.deployment import Deployment
from tests.support.http_server import ScriptedServer

DAG_ID = "probe_race"
RECOVERY_TIMEOUT = 600.0


def describe(number: int, race: ProbeRace, seconds: float) -> str:
    verdict = "exactly one probe" if race.exactly_one_probe else "NOT exactly one probe"
    state = race.breaker["state"] if race.breaker else None
    return (
        f"race {number}: {race.requests} request(s), {len(race.succeeded)} run(s) succeeded, "
        f"{len(race.probe_running)} turned away by the probe, breaker {state}; call tasks started within "
        f"{race.start_spread:.2f} s ({seconds:.1f} s): {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the races; print one line per race and the count."""
    parser = argparse.ArgumentParser(prog="python -m e2e.stress", description=main.__doc__)
    parser.add_argument("--races", type=int, default=10, help="how many races (default: 10)")
    parser.add_argument(
        "--runs", type=int, default=PROBE_RACE_RUNS, help=f"runs per race (default: {PROBE_RACE_RUNS})"
    )
    parser.add_argument(
        "--hold", type=float, default=PROBE_HOLD, help=f"seconds per answer (default: {PROBE_HOLD})"
    )
    args = parser.parse_args(argv)
    server = ScriptedServer().start()
    try:
        with Deployment("CeleryExecutor") as deployment:
            print(f"run folder {deployment.run_dir}", flush=True)
            api = deployment.client()
            deploy_flaky(deployment, api, DAG_ID, server.url, recovery_timeout=RECOVERY_TIMEOUT)
            one_probe = 0
            for number in range(1, args.races + 1):
                make_due(api, DAG_ID, RECOVERY_TIMEOUT)
                started = time.monotonic()
                race = probe_race(deployment, api, server, DAG_ID, runs=args.runs, hold=args.hold)
                one_probe += race.exactly_one_probe
                print(describe(number, race, time.monotonic() - started), flush=True)
    finally:
        server.stop()
    print(f"{one_probe} of {args.races} races had exactly one probe", flush=True)
    return 0 if one_probe == args.races else 1


if __name__ == "__main__":
    raise SystemExit(main())
