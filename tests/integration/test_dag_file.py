"""The DAG file: what each pipeline compiles to, and how broken files surface without hiding good ones."""

from __future__ import annotations

import json
from datetime import timedelta

from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset, TriggerRule

from gathering_provider.compilation.dagfile import INVALID_PIPELINES_DAG_ID
from tests.support.builders import edge, node, pipeline, record
from tests.support.pipelines import DAG_FILE


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
    assert str(dag.fileloc) == str(DAG_FILE)


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
    assert dags["running"].is_paused_upon_creation is False


def test_params_become_trigger_form_params(pipelines):
    pipelines.add(
        "form.json",
        review_pipeline(
            params={"priority": {"type": "string", "enum": ["high", "low"], "default": "low"}, "n": 3}
        ),
    )

    params = pipelines.dags()["form"].params

    assert params.get_param("priority").schema == {"type": "string", "enum": ["high", "low"]}
    assert params["priority"] == "low"
    assert params["n"] == 3


def test_broken_files_become_one_import_error_and_good_dags_still_load(pipelines):
    pipelines.add("good.json", review_pipeline())
    pipelines.add("also_good.yaml", json.dumps(review_pipeline()))
    pipelines.add("bad_syntax.json", '{"nodes": [')
    cyclic = review_pipeline()
    cyclic["edges"].append(edge("n4", "n2"))
    pipelines.add("cyclic.json", cyclic)

    bag = DagBag(dag_folder=str(DAG_FILE))

    assert set(bag.dags) == {"good", "also_good"}
    assert INVALID_PIPELINES_DAG_ID not in bag.dags
    (error,) = bag.import_errors.values()
    assert "2 pipeline error(s)" in error
    assert f"{pipelines.folder / 'bad_syntax.json'}: error [invalid-syntax] line 1, column 12" in error
    assert f"{pipelines.folder / 'cyclic.json'}: error [cycle] node 'n2': nodes form a cycle" in error


def test_a_folder_of_good_files_has_no_import_error(pipelines):
    pipelines.add("good.json", review_pipeline())

    bag = DagBag(dag_folder=str(DAG_FILE))

    assert set(bag.dags) == {"good"}
    assert bag.import_errors == {}
