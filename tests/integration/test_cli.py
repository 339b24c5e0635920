"""The `airflow` CLI as users run it: provider discovery, validate, import errors and `dags test`."""

from __future__ import annotations

import json
import re
from importlib import import_module
from pathlib import Path

import pytest

from gathering_provider.get_provider_info import get_provider_info
from tests.support.bundle import bundle_config
from tests.support.cli import airflow, json_output

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted((REPO / "dags" / "pipelines").iterdir())


def test_provider_is_discovered_and_airflow_still_starts():
    assert airflow("version").returncode == 0

    listed = airflow("providers", "list", "--output", "json")

    assert listed.returncode == 0, listed.stderr
    providers = {entry["package_name"]: entry for entry in json_output(listed)}
    assert providers["airflow-provider-gathering"]["version"] == "0.1.0"


def test_config_section_is_declared_and_env_overrides_it():
    assert airflow("config", "get-value", "gathering", "http_timeout").stdout.strip() == "30"
    overridden = airflow(
        "config", "get-value", "gathering", "http_timeout", AIRFLOW__GATHERING__HTTP_TIMEOUT="5"
    )
    assert overridden.stdout.strip() == "5"


def test_validate_accepts_the_bundled_pipelines():
    result = airflow("gathering", "validate", str(REPO / "dags" / "pipelines"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(BUNDLED)} file(s) checked: 0 error(s)" in result.stdout


def test_validate_reports_every_broken_file_and_exits_1(tmp_path):
    (tmp_path / "good.json").write_text((REPO / "dags" / "pipelines" / "code_review.json").read_text())
    (tmp_path / "typo.yaml").write_text("nodes:\n  - id: a\n    type: trigger\n   bad: [\n")
    (tmp_path / "unknown.json").write_text(json.dumps({"nodes": [{"id": "x", "type": "robot"}]}))

    result = airflow("gathering", "validate", str(tmp_path))

    assert result.returncode == 1
    assert f"{tmp_path / 'typo.yaml'}:4:4: error [invalid-syntax] invalid YAML" in result.stdout
    assert (
        f"{tmp_path / 'unknown.json'}:1:32: error [unknown-node-type] node 'x': unknown node type 'robot'"
        in result.stdout
    )
    assert "3 file(s) checked: 2 error(s)" in result.stdout


def test_validate_json_output_is_machine_readable(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "nodes": [
                    {"id": "t", "type": "trigger"},
                    {"id": "a", "type": "agent", "config": {"task": "x"}},
                ],
                "edges": [{"id": "e1", "from": "t", "to": "ghost"}],
            }
        )
    )

    result = airflow("gathering", "validate", "--output", "json", str(broken))

    assert result.returncode == 1
    problems = json.loads(result.stdout)
    assert {(p["code"], p["node"], p["edge"]) for p in problems} >= {
        ("invalid-config", "a", None),
        ("unknown-edge-endpoint", None, "e1"),
    }
    assert all(p["file"] == str(broken) and p["severity"] in ("error", "warning") for p in problems)
    assert all(
        set(p) == {"file", "line", "column", "severity", "code", "node", "edge", "message"} for p in problems
    )


@pytest.mark.parametrize(
    ("args", "code"), [(("/no/such/pipelines",), "unreadable"), ((), "usage")], ids=["missing", "none"]
)
def test_validate_usage_errors_exit_2_and_still_answer_in_json(args, code):
    text = airflow("gathering", "validate", *args)
    answer = airflow("gathering", "validate", "--output", "json", *args)

    assert (text.returncode, answer.returncode) == (2, 2)
    assert text.stderr.strip()
    (problem,) = json.loads(answer.stdout)
    assert (problem["code"], problem["severity"]) == (code, "error")


def test_each_broken_pipeline_is_its_own_import_error_while_good_ones_load(tmp_path):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    (folder / "good.json").write_text(
        json.dumps({**json.loads((BUNDLED[0]).read_text()), "dag_id": "cli_good"})
    )
    (folder / "broken.json").write_text(json.dumps({"nodes": [{"id": "bad id", "type": "trigger"}]}))
    (folder / "cyclic.json").write_text(
        json.dumps(
            {"nodes": [{"id": "a", "type": "trigger"}], "edges": [{"id": "e", "from": "a", "to": "a"}]}
        )
    )
    env = {
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": bundle_config(folder),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(tmp_path / "bundles"),
    }

    assert airflow("dags", "reserialize", **env).returncode == 0
    errors = airflow("dags", "list-import-errors", "--output", "json", **env)
    listed = airflow("dags", "list", "--output", "json", **env)

    by_file = {entry["filepath"]: entry["error"] for entry in json_output(errors)}
    assert set(by_file) == {"broken.json.py", "cyclic.json.py"}
    assert re.search(
        r"broken\.json:\d+:\d+: error \[invalid-task-id\] node 'bad id'", by_file["broken.json.py"]
    )
    assert re.search(
        r"cyclic\.json:\d+:\d+: error \[cycle\] node 'a': nodes form a cycle: a -> a",
        by_file["cyclic.json.py"],
    )
    assert "cli_good" in {dag["dag_id"] for dag in json_output(listed)}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_bundled_example_runs_green_with_dags_test(path):
    dag_id = json.loads(path.read_text()).get("dag_id", path.stem) if path.suffix == ".json" else path.stem

    result = airflow("dags", "test", dag_id)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "state=success" in output
    assert "result: " in output


def test_provider_info_names_importable_modules():
    info = get_provider_info()
    modules = [module for entry in info["operators"] + info["hooks"] for module in entry["python-modules"]]
    assert all(import_module(module) for module in modules)
    assert info["package-name"] == "airflow-provider-gathering"
    assert set(info["config"]["gathering"]["options"]) >= {
        "pipelines_folder",
        "max_retries",
        "failure_threshold",
    }
