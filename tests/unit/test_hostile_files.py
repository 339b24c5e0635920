"""Pipeline files written to break things: each is refused with a clear problem, never a crash or a hang."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from gathering_provider import config
from gathering_provider.compilation.pipeline_file import compile_file, compile_paths
from gathering_provider.definition.limits import Limits
from gathering_provider.definition.loader import folder_pipeline_files
from gathering_provider.validation.problems import Severity
from tests.support.builders import edge, node, pipeline
from tests.support.unprivileged import unprivileged

TRIGGER = node("start", "trigger")


def small(**fields):
    return pipeline([TRIGGER, node("work", "parallel")], [edge("start", "work")], **fields)


def compiled(tmp_path: Path, content: dict | str | bytes, name: str = "flow.json"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return compile_file(path)


def codes(result) -> set[str]:
    return {problem.code for problem in result.errors}


def only_error(result, code: str) -> str:
    assert codes(result) == {code}, [str(problem) for problem in result.problems]
    assert result.dag is None
    return next(problem.message for problem in result.errors)


# ----------------------------------------------------------------------- what validate accepts builds


def test_a_continuous_schedule_builds(tmp_path):
    result = compiled(tmp_path, small(schedule="@continuous"))
    assert result.errors == []
    assert result.dag.max_active_runs == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"trigger_type": "event", "event": "airflow://x"}, "reserved"),
        ({"trigger_type": "event", "event": "e" * 2000}, "cannot exceed"),
    ],
)
def test_what_airflow_refuses_is_an_error_of_the_file(tmp_path, config, message):
    doc = pipeline([node("start", "trigger", **config)], [])
    assert message in only_error(compiled(tmp_path, doc), "invalid-dag")


def test_a_description_naming_a_markdown_file_stays_text(tmp_path):
    secret = tmp_path / "secret_notes.md"
    secret.write_text("the secret")
    (tmp_path / "folder.md").mkdir()
    for description in (str(secret), str(tmp_path / "folder.md")):
        result = compiled(tmp_path, small(description=description))
        assert result.errors == []
        assert result.dag.doc_md.strip() == description


@pytest.mark.parametrize("dag_id", ["__file__", "__name__", "__builtins__"])
def test_module_dunder_dag_ids_are_refused(tmp_path, dag_id):
    assert "reserved" in only_error(compiled(tmp_path, small(dag_id=dag_id)), "invalid-dag-id")


# -------------------------------------------------------------------- nesting, numbers, aliases, size


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", '{"name": "x", "params": {"p": {"default": ' + "[" * 1000 + "]" * 1000 + "}}}"),
        ("deeper.json", "[" * 100_000 + "]" * 100_000),
        ("deep.yaml", "name: x\nparams:\n  p:\n    default: " + "[" * 500 + "]" * 500 + "\n"),
    ],
)
def test_deep_nesting_is_refused(tmp_path, name, text):
    message = only_error(compiled(tmp_path, text, name), "too-large")
    assert "nested deeper than" in message or "nesting depth" in message


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("big.json", '{"name": "x", "task_retries": ' + "9" * 5000 + "}"),
        ("big.yaml", "name: x\ntask_retries: " + "9" * 5000 + "\n"),
        ("nan.json", '{"name": "x", "params": {"p": {"default": NaN}}}'),
        ("inf.json", '{"name": "x", "timeout_seconds": Infinity}'),
        ("inf.yaml", "name: x\ntimeout_seconds: .inf\n"),
        ("nan.yaml", "name: x\nparams: {p: {default: .nan}}\n"),
    ],
)
def test_huge_and_non_finite_numbers_are_syntax_errors(tmp_path, name, text):
    only_error(compiled(tmp_path, text, name), "invalid-syntax")


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    lines += ["name: bomb", "params: {p: {default: *a8}}", "nodes: []"]
    message = only_error(compiled(tmp_path, "\n".join(lines) + "\n", "bomb.yaml"), "too-large")
    assert "aliases" in message


def test_size_limits_come_from_the_config(tmp_path, monkeypatch):
    doc = pipeline([TRIGGER, *(node(f"n{i}", "parallel") for i in range(5))], [edge("start", "n0")])
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_NODES", "5")
    assert "6 nodes: at most 5 ([gathering] max_nodes)" in only_error(compiled(tmp_path, doc), "too-large")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_NODES", "6")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_EDGES", "0")
    assert "max_edges" in only_error(compiled(tmp_path, doc), "too-large")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_EDGES", "10")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_FILE_BYTES", "100")
    assert "max_file_bytes" in only_error(compiled(tmp_path, doc), "too-large")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_FILE_BYTES", "100000")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_EXPRESSION_LENGTH", "10")
    check = pipeline(
        [TRIGGER, node("c", "condition", condition="start.value == 'long enough'")], [edge("start", "c")]
    )
    assert "longer than 10 characters" in only_error(compiled(tmp_path, check), "invalid-config")
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_NESTING_DEPTH", "3")
    assert "max_nesting_depth" in only_error(compiled(tmp_path, doc), "too-large")


def test_without_airflow_the_limits_come_from_the_environment_and_the_defaults(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GATHERING__MAX_NODES", "7")
    monkeypatch.delenv("AIRFLOW__GATHERING__MAX_EDGES", raising=False)

    limits = Limits.read(config.environment_section())

    assert (limits.nodes, limits.edges) == (7, int(config.OPTIONS["max_edges"]["default"]))
    assert limits == Limits.read()


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ({"timeout_seconds": 1e20}, None),
        ({"task_retry_delay": 1e20}, None),
        ({"task_retries": 10**20}, None),
        ({"max_retries_per_node": 0}, None),
        ({"breaker": {"recovery_timeout": 1e308}}, None),
        (None, {"seconds": 1e20}),
        (None, {"seconds": -1}),
        (None, {"seconds": 1, "backoff_max": 1e308}),
        (None, {"seconds": 1, "max_retries": True}),
        (None, {"seconds": 1, "deferrable": "yes"}),
        (None, {"seconds": 1, "failure_threshold": 10**7}),
    ],
)
def test_numbers_have_finite_ranges_and_strict_types(tmp_path, where, value):
    doc = pipeline(
        [TRIGGER, node("wait", "delay", **(value or {"seconds": 1}))],
        [edge("start", "wait")],
        **(where or {}),
    )
    result = compiled(tmp_path, doc)
    assert codes(result) <= {"invalid-config", "invalid-pipeline"} and result.errors, result.problems
    assert result.dag is None


# ---------------------------------------------------------------------------------------- YAML typing


def test_yaml_ids_and_labels_stay_as_written(tmp_path):
    text = """\
name: typed
nodes:
  - {id: 010, type: trigger}
  - {id: 0x1F, type: condition, config: {condition: "true"}}
  - {id: 0o7, type: parallel}
  - {id: 1e3, type: parallel}
edges:
  - {id: 12:30, from: 010, to: 0x1F}
  - {id: 2, from: 0x1F, to: 0o7, condition: yes}
  - {id: 3, from: 0x1F, to: 1e3, condition: true}
"""
    result = compiled(tmp_path, text, "typed.yaml")
    assert result.errors == []
    assert set(result.dag.task_ids) == {"010", "0x1F", "0o7", "1e3"}
    assert result.dag.get_task("0o7").incoming[0].label == "yes"
    assert result.dag.get_task("1e3").incoming[0].label == "true"
    assert result.dag.get_task("0x1F").incoming[0].edge_id == "12:30"
    (warning,) = [problem for problem in result.problems if problem.code == "label-not-boolean"]
    assert (warning.edge, warning.severity) == ("2", Severity.WARNING)


def test_yaml_numbers_follow_the_core_schema(tmp_path):
    text = "name: x\ntask_retries: 010\nnodes: [{id: t, type: trigger}]\n"
    assert compiled(tmp_path, text, "octal.yaml").dag.get_task("t").retries == 10


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("dup.yaml", "name: a\nname: b\nnodes: [{id: t, type: trigger}]\n"),
        ("dup.json", '{"name": "a", "name": "b", "nodes": [{"id": "t", "type": "trigger"}]}'),
    ],
)
def test_duplicate_keys_are_refused(tmp_path, name, text):
    assert "duplicate key 'name'" in only_error(compiled(tmp_path, text, name), "invalid-syntax")


def test_a_byte_order_mark_is_accepted_in_json_and_yaml(tmp_path):
    for name, text in (("bom.json", json.dumps(small())), ("bom.yaml", json.dumps(small()))):
        result = compiled(tmp_path, b"\xef\xbb\xbf" + text.encode(), name)
        assert result.errors == [], result.problems


# ------------------------------------------------------------------------------------- other details


def test_a_long_cycle_is_named_briefly(tmp_path):
    ids = [f"n{i}" for i in range(500)]
    doc = pipeline(
        [TRIGGER, *(node(i, "parallel") for i in ids)],
        [edge("start", ids[0]), *(edge(a, b) for a, b in zip(ids, ids[1:] + ids[:1], strict=True))],
    )
    message = only_error(compiled(tmp_path, doc), "cycle")
    assert message.endswith("-> ... (500 nodes)")
    assert len(message) < 200


def test_header_values_must_be_latin_1(tmp_path):
    doc = pipeline(
        [
            TRIGGER,
            node("call", "action", action="call_api", url="http://127.0.0.1:9/x", headers={"X-Tag": "漢"}),
        ],
        [edge("start", "call")],
    )
    assert "Latin-1" in only_error(compiled(tmp_path, doc), "invalid-config")


def test_a_cron_that_never_fires_is_refused(tmp_path):
    doc = pipeline([node("start", "trigger", trigger_type="schedule", cron="0 0 30 2 *")], [])
    assert "never fires" in only_error(compiled(tmp_path, doc), "invalid-cron")


# --------------------------------------------------------------------------------- files and folders


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert "not a regular file" in only_error(compile_file(fifo), "unreadable")
    assert "not a regular file" in only_error(compile_file(Path("/dev/zero")), "unreadable")
    assert folder_pipeline_files(tmp_path) == []


def test_a_missing_folder_is_reported_as_unreadable(tmp_path):
    (result,) = compile_paths([tmp_path / "absent"])
    assert "no such file or folder" in only_error(result, "unreadable")


def test_hidden_entries_and_links_out_of_the_folder_are_skipped(tmp_path):
    folder, outside = tmp_path / "pipelines", tmp_path / "outside"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    outside.mkdir()
    for path in (folder / "kept.json", folder / ".hidden.json", folder / ".ipynb_checkpoints" / "x.json"):
        path.write_text(json.dumps(small()))
    (outside / "secret.json").write_text(json.dumps(small()))
    (folder / "out.json").symlink_to(outside / "secret.json")
    (folder / "outdir").symlink_to(outside)
    (folder / "inside.json").symlink_to(folder / "kept.json")
    (folder / "loop").symlink_to(folder)

    assert folder_pipeline_files(folder) == ["inside.json", "kept.json"]


def test_an_unreadable_folder_is_an_error_naming_it():
    with tempfile.TemporaryDirectory() as scratch:  # not under pytest's tmp_path: only root may enter that
        folder = Path(scratch) / "pipelines"
        (folder / "locked").mkdir(parents=True)
        (folder / "locked" / "x.json").write_text(json.dumps(small()))
        (folder / "ok.json").write_text(json.dumps(small()))
        os.chmod(scratch, 0o755)
        os.chmod(folder / "locked", 0)
        problems = unprivileged(lambda: [str(p) for r in compile_paths([folder]) for p in r.errors])
        os.chmod(folder / "locked", 0o755)
    locked = folder / "locked"
    assert problems == [f"{locked}: error [unreadable] cannot read folder {str(locked)!r}: Permission denied"]


def test_a_null_yaml_label_is_no_label(tmp_path):
    text = """\
name: labels
nodes: [{id: a, type: trigger}, {id: b, type: parallel}]
edges: [{id: e, from: a, to: b, condition: null}]
"""
    result = compiled(tmp_path, text, "labels.yaml")
    assert result.problems == []
    assert result.dag.get_task("b").incoming[0].label is None
