"""Declare ``airflow gathering ...`` commands; Airflow loads them through provider info's ``cli``."""

from __future__ import annotations

from airflow.cli.cli_config import ActionCommand, Arg, CLICommand, GroupCommand, lazy_load_command

from gathering_provider.cli.arguments import OUTPUT, PATHS, STRICT, VALIDATE_DESCRIPTION

ARG_PATHS = Arg(**PATHS)
ARG_OUTPUT = Arg(**OUTPUT)

VALIDATE = ActionCommand(
    name="validate",
    help="Check pipeline files before deploying them",
    description=VALIDATE_DESCRIPTION,
    func=lazy_load_command("gathering_provider.cli.commands.validate"),
    args=(ARG_PATHS, ARG_OUTPUT, Arg(**STRICT)),
)


PULL = ActionCommand(
    name="pull",
    help="Pull a gathering server's pipelines into a folder of pipeline files",
    description="List the pipelines of a gathering server (GET /pipelines), validate each as validate "
    "does, and write the valid ones as <name>_<id>.json files; report each as added, changed, unchanged, "
    "invalid, conflict (a file written by hand has its name) or removed (gone from the server). An invalid "
    "pipeline is never written and never replaces a valid file. Exit code 0: every pipeline written or "
    "unchanged; 1: an invalid pipeline, a conflict, or no answer from the server; 2: usage error.",
    func=lazy_load_command("gathering_provider.cli.pull.pull"),
    args=(
        Arg(
            ("--conn-id",),
            default="gathering_default",
            help="The gathering connection (default: gathering_default)",
        ),
        Arg(
            ("--status",),
            choices=("active", "paused", "draft", "all"),
            default="active",
            help="Only the pipelines with this status on the server (default: active)",
        ),
        Arg(
            ("--dest",), metavar="FOLDER", help="Folder to write into (default: [gathering] pipelines_folder)"
        ),
        Arg(("--dry-run",), action="store_true", help="Report what would change; write and delete nothing"),
        Arg(
            ("--prune",),
            action="store_true",
            help="Delete the pulled files of pipelines gone from the server",
        ),
        ARG_OUTPUT,
    ),
)


SCHEMA = ActionCommand(
    name="schema",
    help="Print the JSON Schema of pipeline files, for editors",
    description="Print the JSON Schema (draft 2020-12) of gathering pipeline files, JSON or YAML, with the "
    "editor's aliases, descriptions and examples: save it (airflow gathering schema > gathering.schema.json) "
    "and map it to your pipeline files in VS Code or JetBrains. It checks a file's shape; validate checks "
    "the rest.",
    func=lazy_load_command("gathering_provider.cli.schema.schema"),
    args=(),
)


SHOW = ActionCommand(
    name="show",
    help="Show the compiled plan of one pipeline file, as text or a picture",
    description="Compile one pipeline file as validate does and print its plan: nodes in topological order, "
    "edge labels, OR-joins (nodes reached by several edges: they run when any live edge reaches them), and "
    "each node's retry and breaker settings; or draw it as a Mermaid flowchart, Graphviz DOT, or a PNG "
    "(needs Graphviz's dot program). Exit code 0: shown; 1: the file has errors (printed); 2: usage error, "
    "or --format png without Graphviz.",
    func=lazy_load_command("gathering_provider.cli.show.show"),
    args=(
        Arg(("path",), metavar="PATH", help="A pipeline file"),
        Arg(
            ("--format",),
            choices=("text", "mermaid", "dot", "png"),
            default="text",
            help="text (default), mermaid, dot or png",
        ),
        Arg(("--save",), metavar="FILE", help="Write to FILE instead of standard output"),
    ),
)


ARG_DAG_ID = Arg(("--dag-id",), help="Only the breakers of this DAG's nodes")
ARG_STATE = Arg(("--state",), choices=("closed", "open", "half_open"), help="Only breakers in this state")
ARG_KEYS = Arg(("keys",), metavar="KEY", nargs="*", help="Breaker keys, with or without 'gathering.breaker.'")
ARG_ALL = Arg(("--all",), action="store_true", help="Every breaker")

BREAKERS = GroupCommand(
    name="breakers",
    help="Inspect and reset circuit breakers",
    subcommands=(
        ActionCommand(
            name="list",
            help="Show every breaker: key, state, failures and when it lets a probe through",
            func=lazy_load_command("gathering_provider.cli.commands.breakers_list"),
            args=(ARG_DAG_ID, ARG_STATE, ARG_OUTPUT),
        ),
        ActionCommand(
            name="reset",
            help="Reset breakers to closed: by key, by --dag-id, or --all",
            func=lazy_load_command("gathering_provider.cli.commands.breakers_reset"),
            args=(ARG_KEYS, ARG_DAG_ID, ARG_ALL),
        ),
    ),
)


def get_gathering_cli_commands() -> list[CLICommand]:
    """The command group Airflow adds to its CLI."""
    return [
        GroupCommand(
            name="gathering",
            help="Validate, show and pull gathering pipelines, print their JSON Schema and manage their "
            "circuit breakers",
            subcommands=(VALIDATE, SHOW, SCHEMA, PULL, BREAKERS),
        )
    ]
