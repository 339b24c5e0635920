"""Declare ``airflow gathering ...`` commands; Airflow loads them through provider info's ``cli``."""

from __future__ import annotations

from airflow.cli.cli_config import ActionCommand, Arg, CLICommand, GroupCommand, lazy_load_command

ARG_PATHS = Arg(("paths",), metavar="PATH", nargs="+", help="Pipeline files or folders of pipeline files")
ARG_OUTPUT = Arg(
    ("-o", "--output"), choices=("text", "json"), default="text", help="Output format (default: text)"
)

VALIDATE = ActionCommand(
    name="validate",
    help="Check pipeline files before deploying them",
    description="Validate gathering pipeline files (*.json, *.yaml, *.yml). Exit code 0: no errors "
    "(warnings allowed); 1: some file has errors; 2: usage error or a path that does not exist.",
    func=lazy_load_command("gathering_provider.cli.commands.validate"),
    args=(ARG_PATHS, ARG_OUTPUT),
)


def get_gathering_cli_commands() -> list[CLICommand]:
    """The command group Airflow adds to its CLI."""
    return [
        GroupCommand(
            name="gathering", help="Validate and manage gathering pipelines", subcommands=(VALIDATE,)
        )
    ]
