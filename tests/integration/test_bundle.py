"""The DAG bundle: one generated DAG file per pipeline file, what each compiles to, and how broken files
surface as their own import errors without hiding good ones."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset, TriggerRule
from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

from gathering_provider.bundles import PipelineBundle
from gathering_provider.bundles.sync import sync_folder
from tests.support.builders import edge, node, pipeline, record
from tests.support.unprivileged import unprivileged


def review_pipeline(**fields) -> dict:
    return pipeline(
        [
            node("n1", "trigger", name="PR opened", trigger_type="webhook"),
            node("n2", "agent", name="Sophie - Security Review", agent_id=1, task="review"),
            node("n3", "condition", name="Approved?", condition="input.ok"),
            record("n4"),
        ],
        [edge("n1", "n2"), edge("n2", "n3"), edge("n3", "n4", "true")],
        **fields,
    )


def test_dag_carries_names_docs_timeout_owner_and_tags(pipelines):
    pipelines.add(
        "review.json",
        review_pipeline(
            name="Code review",
            description="Two agents review.\nMore.",
            timeout_seconds=900,
            owner="qa",
            tags=["pr"],
        ),
    )

    dag = pipelines.dags()["review"]

    assert dag.dag_display_name == "Code review"
    assert dag.doc_md == "Two agents review.\nMore."
    assert dag.description == "Two agents review."
    assert dag.dagrun_timeout == timedelta(seconds=900)
    assert dag.tags == {"gathering", "pr"}
    assert dag.get_task("n2").task_display_name == "Sophie - Security Review"
    assert dag.get_task("n2").owner == "qa"
    assert dag.get_task("n2").retries == 0
    assert dag.schedule is None
    assert dag.fileloc == str(pipelines.bundle.path / "review.json.py")


def test_edges_become_dependencies_with_labels_and_or_join_trigger_rules(pipelines):
    pipelines.add("review.json", review_pipeline())

    dag = pipelines.dags()["review"]

    assert dag.get_task("n3").upstream_task_ids == {"n2"}
    assert dag.get_edge_info("n3", "n4") == {"label": "true"}
    assert dag.get_edge_info("n1", "n2") == {}
    assert dag.get_task("n4").trigger_rule == TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    assert dag.get_task("n1").trigger_rule == TriggerRule.ALL_SUCCESS
    assert {type(task).__name__ for task in dag.tasks} == {
        "TriggerOperator",
        "AgentOperator",
        "ConditionOperator",
        "ActionOperator",
    }


def test_dag_id_comes_from_the_file_or_its_stem(pipelines):
    pipelines.add("from_stem.json", review_pipeline())
    pipelines.add("other.json", review_pipeline(dag_id="explicit_id"))

    assert set(pipelines.dags()) == {"from_stem", "explicit_id"}


def test_trigger_node_and_top_level_schedule(pipelines):
    def with_trigger(**config) -> dict:
        return pipeline([node("t", "trigger", **config), record("a")], [edge("t", "a")])

    pipelines.add("nightly.json", with_trigger(trigger_type="schedule", cron="0 2 * * *"))
    pipelines.add("hook.json", with_trigger(trigger_type="webhook"))
    pipelines.add("on_event.json", with_trigger(trigger_type="event", event="tickets.closed"))
    pipelines.add(
        "override.json", {**with_trigger(trigger_type="schedule", cron="0 2 * * *"), "schedule": "@hourly"}
    )

    dags = pipelines.dags()

    assert dags["nightly"].schedule == "0 2 * * *"
    assert dags["hook"].schedule is None
    assert dags["on_event"].schedule == Asset(name="tickets.closed")
    assert dags["override"].schedule == "@hourly"


def test_status_draft_is_not_loaded_and_paused_loads_paused(pipelines):
    pipelines.add("drafted.json", review_pipeline(status="draft"))
    pipelines.add("resting.json", review_pipeline(status="paused"))
    pipelines.add("running.json", review_pipeline(status="active"))

    dags = pipelines.dags()

    assert set(dags) == {"resting", "running"}
    assert dags["resting"].is_paused_upon_creation is True
    assert dags["running"].is_paused_upon_creation is None  # [core] dags_are_paused_at_creation decides


def test_params_become_trigger_form_params(pipelines):
    pipelines.add(
        "form.json",
        review_pipeline(
            params={"priority": {"type": "string", "enum": ["high", "low"], "default": "low"}, "n": 3}
        ),
    )

    params = pipelines.dags()["form"].params

    assert params.get_param("priority").schema == {"type": ["string", "null"], "enum": ["high", "low", None]}
    assert params["priority"] == "low"
    assert params["n"] == 3


def test_each_broken_file_is_its_own_import_error_and_good_dags_still_load(pipelines):
    pipelines.add("good.json", review_pipeline())
    pipelines.add("also_good.yaml", json.dumps(review_pipeline()))
    pipelines.add("bad_syntax.json", '{"nodes": [')
    cyclic = review_pipeline()
    cyclic["edges"].append(edge("n4", "n2"))
    pipelines.add("cyclic.json", cyclic)

    bag = pipelines.bag()

    assert set(bag.dags) == {"good", "also_good"}
    assert set(bag.import_errors) == {"bad_syntax.json.py", "cyclic.json.py"}
    syntax, cycle = bag.import_errors["bad_syntax.json.py"], bag.import_errors["cyclic.json.py"]
    assert "bad_syntax.json: 1 error(s)\nbad_syntax.json:1:12: error [invalid-syntax] invalid JSON" in syntax
    assert re.search(
        r"cyclic\.json:1:\d+: error \[cycle\] node 'n2': nodes form a cycle: n2 -> n3 -> n4 -> n2", cycle
    )
    assert "cyclic" not in syntax and "bad_syntax" not in cycle


def test_a_folder_of_good_files_has_no_import_error(pipelines):
    pipelines.add("good.json", review_pipeline())

    bag = pipelines.bag()

    assert set(bag.dags) == {"good"}
    assert bag.import_errors == {}


def test_an_unreadable_file_is_an_import_error_naming_it(pipelines):
    (pipelines.folder / "latin.json").write_bytes(b'{"name": "caf\xe9"}')

    errors = pipelines.bag().import_errors

    assert "latin.json: error [unreadable] not UTF-8 text: 'utf-8' codec" in errors["latin.json.py"]


def test_generated_files_follow_added_changed_and_removed_pipelines(pipelines):
    first = pipelines.add("first.json", review_pipeline(name="Alpha"))
    pipelines.add("team/second.yaml", json.dumps(review_pipeline(dag_id="second")))
    assert {dag.dag_display_name for dag in pipelines.dags().values()} == {"Alpha", "Test pipeline"}
    generated = sorted(
        p.relative_to(pipelines.bundle.path).as_posix() for p in pipelines.bundle.path.rglob("*.py")
    )
    assert generated == ["first.json.py", "team/second.yaml.py"]

    first.write_text(json.dumps(review_pipeline(name="Bravo")))  # same size, maybe the same time stamp
    (pipelines.folder / "team" / "second.yaml").unlink()
    pipelines.add("third.json", review_pipeline())

    dags = pipelines.dags()
    assert set(dags) == {"first", "third"}
    assert dags["first"].dag_display_name == "Bravo"
    assert not (pipelines.bundle.path / "team" / "second.yaml.py").exists()


def test_the_generated_file_shows_the_pipeline_as_written(pipelines):
    text = (
        '{\n  "name": "Shown as written",\n  "nodes": [{"id": "t", "type": "trigger"}],\n  "edges": []\n}\n'
    )
    pipelines.add("shown.json", text)
    pipelines.bundle.initialize()

    generated = (pipelines.bundle.path / "shown.json.py").read_text()

    assert f"DEFINITION = r'''\n{text}'''" in generated
    assert "airflow" in generated.lower() and "dag" in generated.lower()  # Airflow's safe-mode heuristic


@pytest.mark.parametrize(
    "description",
    [
        "Three quotes ''' and a backslash \\ end here\\",
        "Ends with a quote'",
        "Quote, backslash, quotes: \\''' and \"\"\"",
        "Windows\r\nline ends\r\n",
        "A NUL \x00 and a form feed \x0c",
        "Non-ASCII: é ü — 漢字 \u2028 line separator",
    ],
)
def test_any_pipeline_text_survives_the_generated_file_exactly(pipelines, description):
    pipelines.add("odd.json", review_pipeline(description=description))

    dag = pipelines.dags()["odd"]

    assert dag.doc_md == description


def test_generation_is_deterministic_and_leaves_no_temporary_files(pipelines, tmp_path, monkeypatch):
    pipelines.add("one.json", review_pipeline())
    pipelines.add("two.yaml", json.dumps(review_pipeline()))
    pipelines.bundle.initialize()
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "elsewhere"))
    other = PipelineBundle(name="gathering", pipelines_folder=str(pipelines.folder))
    other.initialize()

    def files(root):
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.suffix == ".py"}

    assert files(other.path) == files(pipelines.bundle.path)
    assert {p.name for p in pipelines.bundle.path.iterdir() if p.name.endswith(".tmp")} == set()


def test_a_settled_pipeline_file_costs_a_stat_and_a_fresh_one_is_read_again(pipelines):
    path = pipelines.add("steady.json", review_pipeline())
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    pipelines.bundle.initialize()
    generated = pipelines.bundle.path / "steady.json.py"
    generated.write_text("# stale\n")  # a settled, unchanged pipeline file is not read again...

    assert sync_folder(pipelines.folder, pipelines.bundle.path).written == []
    assert generated.read_text() == "# stale\n"

    os.utime(path)  # ...until it changes, and while it is fresh it is read at every sync
    assert sync_folder(pipelines.folder, pipelines.bundle.path).written == ["steady.json.py"]
    generated.write_text("# stale\n")
    assert sync_folder(pipelines.folder, pipelines.bundle.path).written == ["steady.json.py"]
    assert "DEFINITION" in generated.read_text()


def test_a_worker_parse_compiles_only_the_pipeline_it_runs(pipelines, caplog, monkeypatch):
    pipelines.add("wanted.json", review_pipeline(name="Wanted"))
    broken = review_pipeline()
    broken["edges"].append(edge("n4", "n2"))
    pipelines.add("other.json", broken)
    pipelines.add("lonely.json", pipeline([node("t", "trigger"), record("x")], []))

    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "wanted")  # what a worker sets before it parses
    with caplog.at_level(logging.WARNING):
        bag = pipelines.bag()

    assert set(bag.dags) == {"wanted"}
    assert bag.import_errors == {}
    assert "orphan-node" not in caplog.text


def test_a_task_start_serves_a_recent_sync_as_it_is_and_syncs_an_old_one(pipelines, monkeypatch):
    pipelines.add("first.json", review_pipeline())
    pipelines.bundle.initialize()  # the dag-processor syncs
    pipelines.add("second.json", review_pipeline())
    generated = pipelines.bundle.path / "second.json.py"

    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "first")  # a task of "first" starts
    pipelines.bundle.initialize()
    assert not generated.exists()  # the worker runs what the dag-processor parsed

    long_ago = time.time() - pipelines.bundle.refresh_interval - 1
    os.utime(pipelines.bundle.path / ".gathering-manifest.json", (long_ago, long_ago))
    pipelines.bundle.initialize()  # storage synced before refresh_interval: sync first
    assert generated.exists()

    monkeypatch.delenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID)
    generated.unlink()
    pipelines.bundle.initialize()  # the dag-processor always syncs
    assert generated.exists()


def test_a_full_parse_logs_each_files_own_problems(pipelines, caplog):
    pipelines.add("lonely.json", pipeline([node("t", "trigger"), node("x", "parallel")], []))
    pipelines.add("clean.json", pipeline([node("t", "trigger"), node("x", "parallel")], [edge("t", "x")]))

    with caplog.at_level(logging.WARNING, logger="gathering_provider"):
        pipelines.bag()

    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("gathering_provider")]
    assert warnings == [
        "lonely.json: warning [orphan-node] node 'x': no incoming edge and not a trigger: "
        "it runs at the start of every run"
    ]


def test_a_missing_pipelines_folder_keeps_the_last_synced_dags(pipelines, tmp_path):
    pipelines.add("kept.json", review_pipeline())
    pipelines.bundle.initialize()
    pipelines.folder.rename(tmp_path / "unmounted")

    assert set(pipelines.dags()) == {"kept"}

    (tmp_path / "unmounted").rename(pipelines.folder)
    (pipelines.folder / "kept.json").unlink()
    assert pipelines.dags() == {}


def test_an_unreadable_folder_is_an_import_error_naming_it_and_keeps_what_it_served():
    with tempfile.TemporaryDirectory() as scratch:  # not under pytest's tmp_path: only root may enter that
        os.chmod(scratch, 0o777)
        folder, target = Path(scratch) / "pipelines", Path(scratch) / "bundle"
        (folder / "team").mkdir(parents=True)
        (folder / "team" / "orders.json").write_text(json.dumps(review_pipeline()))
        (folder / "ok.json").write_text(json.dumps(review_pipeline()))
        target.mkdir()
        for path in (folder, folder / "team", target):
            os.chmod(path, 0o777)
        sync_folder(folder, target)
        os.chmod(folder / "team", 0)

        report = unprivileged(lambda: vars(sync_folder(folder, target)))
        os.chmod(folder / "team", 0o755)
        bag = DagBag(dag_folder=str(target), bundle_path=target, bundle_name="unreadable")

    assert "team.unreadable-folder.py" in report["written"]
    assert report["removed"] == []
    assert set(bag.dags) == {"ok", "orders"}  # what the folder held stays served
    (error,) = bag.import_errors.values()
    assert "team/: error [unreadable] cannot read folder" in error
    assert "Permission denied" in error
