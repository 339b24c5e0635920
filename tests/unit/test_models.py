from __future__ import annotations

import pytest
from airflow.sdk import Asset, Param
from pydantic import ValidationError

from gathering_provider.compilation.params import admit_null, to_param, to_params
from gathering_provider.compilation.schedule import ScheduleError, check_cron, resolve_schedule
from gathering_provider.definition.models import (
    NODE_ADAPTER,
    ActionConfig,
    ActionNode,
    AgentNode,
    ConditionConfig,
    DelayConfig,
    DelayNode,
    Edge,
    Pipeline,
    TriggerConfig,
    TriggerNode,
    split_url,
)
from tests.support.builders import edge, node, pipeline, record


def trigger(node_id="start", **config):
    return TriggerNode.model_validate(node(node_id, "trigger", **config))


# ------------------------------------------------------------------------------------------ editor aliases


def test_agent_task_prompt_alias():
    agent = NODE_ADAPTER.validate_python(node("a", "agent", agent_id=1, task_prompt="Summarise"))
    assert isinstance(agent, AgentNode)
    assert agent.config.task == "Summarise"


def test_delay_seconds_alias():
    delay = NODE_ADAPTER.validate_python(node("d", "delay", delay_seconds=2))
    assert isinstance(delay, DelayNode)
    assert delay.config.seconds == 2


def test_action_type_and_webhook_url_aliases():
    action = NODE_ADAPTER.validate_python(
        node("n", "action", action_type="send_notification", webhook_url="https://hooks.example.com/x")
    )
    assert isinstance(action, ActionNode)
    assert action.config.action == "send_notification"
    assert action.config.url == "https://hooks.example.com/x"
    assert action.config.has_handler


def test_canonical_names_are_accepted_too():
    agent = NODE_ADAPTER.validate_python(node("a", "agent", agent_id=1, task="Review"))
    delay = NODE_ADAPTER.validate_python(node("d", "delay", seconds=1.5))
    assert agent.config.task == "Review"
    assert delay.config.seconds == 1.5


@pytest.mark.parametrize(("agent_id", "expected_type"), [(7, int), ("7", str), ("sophie", str)])
def test_agent_id_keeps_its_type(agent_id, expected_type):
    agent = NODE_ADAPTER.validate_python(node("a", "agent", agent_id=agent_id, task="t"))
    assert agent.config.agent_id == agent_id
    assert type(agent.config.agent_id) is expected_type


def test_numeric_ids_become_strings():
    doc = {
        "nodes": [{"id": 1, "type": "trigger"}, {"id": 2, "type": "action", "config": {"action": "x"}}],
        "edges": [{"id": 10, "from": 1, "to": 2}],
    }
    parsed = Pipeline.model_validate(doc)
    assert [n.id for n in parsed.nodes] == ["1", "2"]
    link = parsed.edges[0]
    assert (link.id, link.source, link.target) == ("10", "1", "2")
    assert parsed.node("2").type == "action"


def test_boolean_id_is_not_read_as_text():
    with pytest.raises(ValidationError):
        NODE_ADAPTER.validate_python({"id": True, "type": "trigger"})


def test_bookkeeping_fields_are_ignored():
    doc = pipeline(
        [
            {**node("t", "trigger"), "run_count": 4, "created_at": "2024-01-01T00:00:00Z"},
            record("a"),
        ],
        [{**edge("t", "a"), "created_at": "2024-01-01T00:00:00Z"}],
        id=12,
        run_count=31,
        created_at="2024-01-01T00:00:00Z",
        updated_at="2024-02-01T00:00:00Z",
        last_run_at=None,
    )
    parsed = Pipeline.model_validate(doc)
    assert parsed.id == 12
    for model in (parsed, parsed.nodes[0], parsed.edges[0]):
        dumped = model.model_dump()
        assert "run_count" not in dumped
        assert "created_at" not in dumped


def test_unknown_config_keys_are_kept_for_the_tool():
    action = NODE_ADAPTER.validate_python(node("n", "action", action="page_oncall", rotation="primary"))
    assert action.config.model_extra == {"rotation": "primary"}


# ------------------------------------------------------------------------------------------------- edges


@pytest.mark.parametrize(
    ("condition", "label"),
    [(None, None), ("", None), ("   ", None), ("true", "true"), ("  high ", "high"), ("False", "False")],
)
def test_edge_label(condition, label):
    link = Edge.model_validate(edge("a", "b", condition))
    assert link.label == label


def test_edge_reads_from_and_to():
    link = Edge.model_validate({"id": "e1", "from": "a", "to": "b", "condition": "low"})
    assert (link.source, link.target, link.condition) == ("a", "b", "low")


# ------------------------------------------------------------------------------------------------- graph


def test_pipeline_graph_vertices_and_arcs():
    parsed = Pipeline.model_validate(
        pipeline(
            [node("t", "trigger"), node("c", "condition", condition="true"), record("a"), record("b")],
            [
                edge("t", "c"),
                edge("c", "a", "true"),
                edge("c", "b", "false"),
                {"id": "again", "from": "c", "to": "a"},
                edge("a", "ghost"),
            ],
        )
    )
    graph = parsed.graph()
    assert list(graph.nodes) == ["t", "c", "a", "b"]
    assert list(graph.edges(keys=True)) == [
        ("t", "c", "t->c"),
        ("c", "a", "c->a"),
        ("c", "a", "again"),
        ("c", "b", "c->b"),
    ]
    assert graph.nodes["c"]["node"] is parsed.node("c")
    assert graph.edges["c", "b", "c->b"]["edge"].label == "false"
    assert "ghost" not in graph


# ------------------------------------------------------------------------------------------------ action


def test_execute_pipeline_without_its_pipeline_is_refused():
    with pytest.raises(ValidationError, match="execute_pipeline needs 'pipeline'"):
        ActionConfig.model_validate({"action": "execute_pipeline", "pipeline_id": 3})


def test_url_and_conn_id_together_are_refused():
    with pytest.raises(ValidationError, match="not both"):
        ActionConfig.model_validate({"action": "call_api", "url": "https://a.example", "http_conn_id": "c"})


@pytest.mark.parametrize("action", ["call_api", "send_notification"])
def test_handler_without_target_is_refused(action):
    with pytest.raises(ValidationError, match=f"{action} needs 'url'"):
        ActionConfig.model_validate({"action": action})


@pytest.mark.parametrize(
    "url", ["ftp://files.example/x", "/relative/path", "hooks.example.com/x", "https:///x"]
)
def test_bad_url_is_refused(url):
    with pytest.raises(ValidationError, match="not an absolute http"):
        ActionConfig.model_validate({"action": "call_api", "url": url})


def test_bad_url_is_refused_even_without_handler():
    with pytest.raises(ValidationError, match="not an absolute http"):
        ActionConfig.model_validate({"action": "record_it", "url": "ftp://files.example/x"})


@pytest.mark.parametrize(
    "config",
    [
        {"action": "call_api", "url": "https://api.example.com/v1"},
        {"action": "call_api", "http_conn_id": "api", "endpoint": "/v1"},
        {"action": "send_notification", "url": "http://hooks.example.com/x"},
    ],
)
def test_actions_with_handler(config):
    assert ActionConfig.model_validate(config).has_handler


@pytest.mark.parametrize(
    "config",
    [
        {"action": "merge_pull_request"},
        {"action": "dance", "style": "tango"},
        {"action": "send_notification", "tool_name": "slack"},
    ],
)
def test_unknown_action_words_are_accepted_without_handler(config):
    parsed = ActionConfig.model_validate(config)
    assert parsed.action == config["action"]
    assert not parsed.has_handler


# ----------------------------------------------------------------------------------- trigger, delay, cond.


def test_trigger_defaults_to_manual():
    assert TriggerConfig().trigger_type == "manual"
    assert trigger().config.trigger_type == "manual"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"trigger_type": "schedule"}, "needs 'cron'"),
        ({"trigger_type": "schedule", "cron": ""}, "needs 'cron'"),
        ({"trigger_type": "event"}, "needs 'event'"),
        ({"trigger_type": "event", "event": "  "}, "needs 'event'"),
        ({"trigger_type": "sometimes"}, "trigger_type"),
    ],
)
def test_trigger_config_errors(config, message):
    with pytest.raises(ValidationError, match=message):
        TriggerConfig.model_validate(config)


@pytest.mark.parametrize(
    "config",
    [
        {"trigger_type": "schedule", "cron": "0 2 * * *"},
        {"trigger_type": "event", "event": "ticket.created"},
        {"trigger_type": "webhook"},
        {"trigger_type": "manual"},
    ],
)
def test_trigger_config_valid(config):
    assert TriggerConfig.model_validate(config).trigger_type == config["trigger_type"]


@pytest.mark.parametrize("seconds", [-1, -0.5])
def test_negative_delay_is_refused(seconds):
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        DelayConfig.model_validate({"seconds": seconds})


def test_zero_delay_is_accepted():
    assert DelayConfig.model_validate({"delay_seconds": 0}).seconds == 0


@pytest.mark.parametrize("condition", [True, 5, None, ["a"]])
def test_condition_must_be_text(condition):
    with pytest.raises(ValidationError, match="valid string"):
        ConditionConfig.model_validate({"condition": condition})


@pytest.mark.parametrize("condition", ["a and", "(x", "x == == y", "1 < 2 < 3"])
def test_condition_must_parse(condition):
    with pytest.raises(ValidationError, match="at column"):
        ConditionConfig.model_validate({"condition": condition})


def test_condition_that_parses_is_kept():
    assert ConditionConfig.model_validate({"condition": "n1.score >= 2"}).condition.text == "n1.score >= 2"


# -------------------------------------------------------------------------------------------- split_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1/items?x=1&y=2", ("https://api.example.com", "/v1/items?x=1&y=2")),
        ("http://localhost:8080/hook", ("http://localhost:8080", "/hook")),
        ("https://api.example.com", ("https://api.example.com", "")),
        ("https://api.example.com/", ("https://api.example.com", "/")),
    ],
)
def test_split_url(url, expected):
    assert split_url(url) == expected


@pytest.mark.parametrize("url", ["", "ftp://a.example/x", "api.example.com/x", "https:///x", "mailto:a@b.c"])
def test_split_url_refuses(url):
    with pytest.raises(ValueError, match="not an absolute http"):
        split_url(url)


# ------------------------------------------------------------------------------------------------ params


@pytest.mark.parametrize("value", [5, "text", [1, 2], {"nested": 1}, True])
def test_to_param_bare_value(value):
    param = to_param(value)
    assert isinstance(param, Param)
    assert param.has_value
    assert param.value == value
    assert param.schema == {}


def test_to_param_schema_with_default_admits_null():
    param = to_param({"type": "string", "enum": ["high", "low"], "default": "high", "description": "Urgency"})
    assert param.has_value
    assert param.value == "high"
    assert param.schema == {"type": ["string", "null"], "enum": ["high", "low", None]}
    assert param.description == "Urgency"


@pytest.mark.parametrize(
    ("schema", "nullable"),
    [
        ({"type": "integer", "minimum": 1}, {"type": ["integer", "null"], "minimum": 1}),
        ({"type": ["integer", "string"]}, {"type": ["integer", "string", "null"]}),
        (
            {"type": ["null", "string"], "enum": [None, "a"]},
            {"type": ["null", "string"], "enum": [None, "a"]},
        ),
        ({"enum": [1, 2]}, {"enum": [1, 2, None]}),
        ({"description": "untyped"}, {"description": "untyped"}),
    ],
)
def test_admit_null(schema, nullable):
    assert admit_null(schema) == nullable


def test_to_param_schema_without_default_is_required():
    param = to_param({"type": "integer", "minimum": 1})
    assert not param.has_value
    assert param.schema == {"type": "integer", "minimum": 1}


def test_to_params_names_every_param():
    params = to_params({"count": 3, "priority": {"type": "string", "default": "low"}})
    assert set(params) == {"count", "priority"}
    assert params["count"].value == 3
    assert params["priority"].value == "low"


@pytest.mark.parametrize(
    "spec",
    [{"type": "integer", "default": "many"}, {"type": "integer", "default": 1, "minimum": 5}],
)
def test_to_params_bad_default_names_the_param(spec):
    with pytest.raises(ValueError, match=r"^param 'count': ") as raised:
        to_params({"fine": 1, "count": spec})
    assert "\n" not in str(raised.value)


# ---------------------------------------------------------------------------------------------- schedule


def test_no_trigger_means_no_schedule():
    assert resolve_schedule(None, []) is None


@pytest.mark.parametrize("trigger_type", ["manual", "webhook"])
def test_manual_and_webhook_triggers_have_no_schedule(trigger_type):
    assert resolve_schedule(None, [trigger(trigger_type=trigger_type)]) is None


def test_schedule_trigger_gives_its_cron():
    assert resolve_schedule(None, [trigger(trigger_type="schedule", cron="0 2 * * *")]) == "0 2 * * *"


def test_event_trigger_gives_an_asset():
    schedule = resolve_schedule(None, [trigger(trigger_type="event", event="ticket.created")])
    assert isinstance(schedule, Asset)
    assert schedule.name == "ticket.created"


def test_top_level_schedule_overrides_trigger():
    triggers = [trigger(trigger_type="schedule", cron="0 2 * * *")]
    assert resolve_schedule("30 6 * * 1", triggers) == "30 6 * * 1"


def test_first_deciding_trigger_wins():
    triggers = [
        trigger("hand", trigger_type="manual"),
        trigger("nightly", trigger_type="schedule", cron="0 2 * * *"),
        trigger("hourly", trigger_type="schedule", cron="0 * * * *"),
    ]
    assert resolve_schedule(None, triggers) == "0 2 * * *"


@pytest.mark.parametrize("schedule", ["@once", "@continuous", "@daily", "@hourly", "*/5 * * * *"])
def test_top_level_schedule_accepted(schedule):
    assert resolve_schedule(schedule, []) == schedule


@pytest.mark.parametrize("schedule", ["not a cron", "61 * * * *", "* * *", "", "@sometimes"])
def test_invalid_top_level_schedule(schedule):
    with pytest.raises(ScheduleError, match="invalid cron expression"):
        resolve_schedule(schedule, [trigger(trigger_type="schedule", cron="0 2 * * *")])


def test_invalid_trigger_cron():
    with pytest.raises(ScheduleError, match=r"'99 \* \* \* \*'"):
        resolve_schedule(None, [trigger(trigger_type="schedule", cron="99 * * * *")])


@pytest.mark.parametrize("expression", ["0 2 * * *", "*/15 9-17 * * 1-5", "@daily", "@weekly"])
def test_check_cron_accepts(expression):
    assert check_cron(expression) == expression


@pytest.mark.parametrize("expression", ["", "every day", "0 25 * * *", "* * * *"])
def test_check_cron_refuses(expression):
    with pytest.raises(ScheduleError) as raised:
        check_cron(expression)
    assert isinstance(raised.value, ValueError)
    assert repr(expression) in str(raised.value)


@pytest.mark.parametrize(("raw", "label"), [(True, "true"), (False, "false"), ("high", "high")])
def test_yaml_boolean_edge_labels_read_as_text(raw, label):
    assert Edge.model_validate({"id": "e", "from": "a", "to": "b", "condition": raw}).label == label
