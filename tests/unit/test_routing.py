from __future__ import annotations

import pytest

from gathering_provider.operators.routing import IncomingEdge, edge_followed, live_edges


@pytest.mark.parametrize(
    ("value", "followed"),
    [
        (True, True),
        (1, True),
        ("text", True),
        ([0], True),
        ({"k": 1}, True),
        (False, False),
        (0, False),
        ("", False),
        (None, False),
        ([], False),
        ({}, False),
    ],
)
def test_no_label_follows_truthy_results(value, followed):
    assert edge_followed(None, value) is followed


@pytest.mark.parametrize("label", ["true", "True", "TRUE", "tRuE"])
@pytest.mark.parametrize(
    ("value", "followed"),
    [(True, True), (1, True), ("no", True), (False, False), (0, False), (None, False), ("", False)],
)
def test_true_label_matches_bool_of_result(label, value, followed):
    assert edge_followed(label, value) is followed


@pytest.mark.parametrize("label", ["false", "False", "FALSE", "fAlSe"])
@pytest.mark.parametrize(
    ("value", "followed"),
    [(True, False), (1, False), ("no", False), (False, True), (0, True), (None, True), ("", True)],
)
def test_false_label_matches_bool_of_result(label, value, followed):
    assert edge_followed(label, value) is followed


@pytest.mark.parametrize(
    ("label", "value", "followed"),
    [
        ("high", "high", True),
        ("high", "low", False),
        ("high", "High", False),
        ("High", "high", False),
        ("3", 3, True),
        ("3", "3", True),
        ("3", 4, False),
        ("3", 3.0, False),
        ("2.5", 2.5, True),
        ("None", None, True),
        ("high", True, False),
        ("yes", True, False),
        ("1", True, False),
    ],
)
def test_other_labels_match_text_of_result(label, value, followed):
    assert edge_followed(label, value) is followed


def incoming(source="c", label=None, from_condition=True, edge_id=None, target="t"):
    return IncomingEdge(edge_id or f"{source}->{target}", source, target, label, from_condition)


@pytest.mark.parametrize("from_condition", [True, False])
@pytest.mark.parametrize("label", [None, "true", "false", "high"])
def test_edge_from_source_that_did_not_run_is_dead(from_condition, label):
    link = incoming(label=label, from_condition=from_condition)
    assert not link.is_live({})
    assert not link.is_live({"other": {"result": True}})


@pytest.mark.parametrize("label", [None, "true", "false", "high"])
@pytest.mark.parametrize("output", [{"result": False}, {"result": True}, {"answer": "x"}, {}])
def test_edge_from_non_condition_that_ran_is_live(label, output):
    assert incoming(source="agent", label=label, from_condition=False).is_live({"agent": output})


@pytest.mark.parametrize(
    ("label", "result", "live"),
    [
        (None, True, True),
        (None, False, False),
        ("true", True, True),
        ("true", False, False),
        ("false", False, True),
        ("false", True, False),
        ("high", "high", True),
        ("high", "low", False),
        ("3", 3, True),
    ],
)
def test_edge_from_condition_is_routed_by_label(label, result, live):
    assert incoming(label=label).is_live({"c": {"result": result}}) is live


def test_condition_output_without_result_counts_as_null():
    assert not incoming(label="true").is_live({"c": {}})
    assert incoming(label="false").is_live({"c": {}})


def test_live_edges_keeps_live_ones_in_order():
    edges = [
        incoming(source="c", label="high", edge_id="e1"),
        incoming(source="c", label="low", edge_id="e2"),
        incoming(source="agent", from_condition=False, edge_id="e3"),
        incoming(source="skipped", from_condition=False, edge_id="e4"),
        incoming(source="c", label=None, edge_id="e5"),
    ]
    outputs = {"c": {"result": "high"}, "agent": {"result": None}}
    assert [link.edge_id for link in live_edges(edges, outputs)] == ["e1", "e3", "e5"]


def test_live_edges_empty():
    assert live_edges([], {"c": {"result": True}}) == []
    assert live_edges([incoming(source="c", label="false")], {"c": {"result": True}}) == []


def test_live_edges_accepts_any_iterable():
    edges = (link for link in [incoming(source="a", from_condition=False, edge_id="only")])
    assert [link.edge_id for link in live_edges(edges, {"a": {}})] == ["only"]
