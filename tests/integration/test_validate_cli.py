"""The validate commands as users run them: locations and carets, ``--strict``, and ``gathering-validate``,
which never imports Airflow."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.builders import edge, node, pipeline
from tests.support.cli import airflow, gathering_validate, json_output

REPO = Path(__file__).resolve().parents[2]
CLEAN = REPO / "dags" / "pipelines" / "code_review.json"
AIRFLOW_ONLY = {"invalid-cron", "invalid-schedule", "invalid-params", "multiple-triggers", "invalid-dag"}
BROKEN_YAML = """\
name: Broken
nodes:
  - id: start
    type: trigger
  - id: done
    type: agnet
edges:
  - id: e1
    from: start
    to: dnoe
"""


def imported_modules(stderr: str) -> set[str]:
    """The modules ``PYTHONPROFILEIMPORTTIME`` reported as imported."""
    return {
        line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")
    }


def test_gathering_validate_never_imports_airflow(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_YAML)

    clean_run = gathering_validate(str(CLEAN), PYTHONPROFILEIMPORTTIME="1")
    broken_run = gathering_validate("--output", "json", str(broken), PYTHONPROFILEIMPORTTIME="1")

    assert (clean_run.returncode, broken_run.returncode) == (0, 1), clean_run.stdout + broken_run.stdout
    for run in (clean_run, broken_run):
        modules = imported_modules(run.stderr)
        assert "gathering_provider.validation.validator" in modules
        assert {module for module in modules if module.split(".")[0] == "airflow"} == set()
    assert "0 error(s)" in clean_run.stdout


def test_text_output_points_at_each_line_and_shows_each_error_with_a_caret(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_YAML)

    result = gathering_validate(str(broken))

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{broken}:5:9: warning [orphan-node] node 'done': no incoming edge and not a trigger: it runs at "
        "the start of every run",
        f"{broken}:6:11: error [unknown-node-type] node 'done': unknown node type 'agnet'; did you mean "
        "'agent'? (expected one of trigger, agent, condition, action, parallel, delay)",
        " 6 |     type: agnet",
        "   |           ^",
        f"{broken}:10:9: error [unknown-edge-endpoint] edge 'e1': 'to' names missing node 'dnoe'; did you "
        "mean 'done'?",
        " 10 |     to: dnoe",
        "    |         ^",
        "1 file(s) checked: 2 error(s), 1 warning(s), 1 info",
    ]
    assert result.stderr.startswith("info [skipped-checks] without Airflow, schedules")


def test_gathering_validate_reports_the_same_problems_as_airflow_but_those_that_need_airflow(tmp_path):
    trigger = node("start", "trigger", trigger_type="schedule", cron="0 25 * * *")
    files = {
        "cron.json": pipeline(
            [trigger, node("work", "agnet"), node("wait", "delay", seconds=-1)],
            [edge("start", "work"), edge("work", "ghost")],
            params={"count": {"type": "integer", "default": "many"}},
        ),
        "schedule.yaml": pipeline(
            [node("start", "trigger"), node("lonely", "parallel")], [], schedule="sometimes"
        ),
        "triggers.yaml": pipeline(
            [
                node("a", "trigger", trigger_type="event", event="x"),
                node("b", "trigger", trigger_type="event", event="y"),
            ],
            [edge("a", "b", "true")],
        ),
        "long_tag.json": pipeline([node("start", "trigger")], [], tags=["t" * 101]),
        "good.json": json.loads(CLEAN.read_text()),
    }
    for name, document in files.items():
        (tmp_path / name).write_text(json.dumps(document, indent=2))

    light = gathering_validate("--output", "json", str(tmp_path))
    full = airflow("gathering", "validate", "--output", "json", str(tmp_path))

    assert (light.returncode, full.returncode) == (1, 1)
    skipped, *problems = json.loads(light.stdout)
    assert (skipped["severity"], skipped["code"], skipped["file"]) == ("info", "skipped-checks", "")
    expected = json_output(full)
    assert {problem["code"] for problem in expected} >= AIRFLOW_ONLY
    assert problems == [problem for problem in expected if problem["code"] not in AIRFLOW_ONLY]
    assert all(problem["line"] and problem["column"] for problem in problems)


def test_strict_turns_warnings_into_errors(tmp_path):
    warned = tmp_path / "warned.json"
    warned.write_text(json.dumps(pipeline([node("start", "trigger"), node("lonely", "parallel")], [])))

    plain = gathering_validate(str(warned))
    strict = gathering_validate("--strict", str(warned))
    strict_json = gathering_validate("--strict", "--output", "json", str(warned))
    full_strict = airflow("gathering", "validate", "--strict", str(warned))

    assert (plain.returncode, strict.returncode, strict_json.returncode, full_strict.returncode) == (
        0,
        1,
        1,
        1,
    )
    assert "warning [orphan-node]" in plain.stdout
    assert "0 error(s), 1 warning(s)" in plain.stdout
    for result in (strict, full_strict):
        assert f"{warned}:1:" in result.stdout and "error [orphan-node] node 'lonely'" in result.stdout
        assert "1 error(s), 0 warning(s)" in result.stdout
    assert [(p["severity"], p["code"]) for p in json.loads(strict_json.stdout)] == [
        ("info", "skipped-checks"),
        ("error", "orphan-node"),
    ]


def test_gathering_validate_reads_the_limits_from_the_environment(tmp_path):
    result = gathering_validate(str(CLEAN), AIRFLOW__GATHERING__MAX_NODES="2")

    assert result.returncode == 1
    assert f"{CLEAN}:" in result.stdout and "error [too-large] 6 nodes: at most 2" in result.stdout


def test_gathering_validate_usage_errors_exit_2_and_still_answer_in_json():
    missing = gathering_validate("--output", "json", "/no/such/pipelines")
    nothing = gathering_validate("--output", "json")

    assert (missing.returncode, nothing.returncode) == (2, 2)
    assert [p["code"] for p in json.loads(missing.stdout)] == ["skipped-checks", "unreadable"]
    assert [p["code"] for p in json.loads(nothing.stdout)] == ["skipped-checks", "usage"]
