from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

import pytest

from gathering_provider.expressions import (
    BoolOp,
    Compare,
    Constant,
    Expression,
    ExpressionError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    Not,
    Path,
    parse,
)

INPUTS: dict[str, Any] = {
    "n0": "plain text output",
    "n1": {"score": 1, "label": "low", "tags": ["a", "b"], "flag": None},
    "n2": {"score": 2, "other": 5, "review": {"items": [{"name": "first"}, {"name": "second"}]}},
    "n3": {"mapping": {"k": 1}, "pair": (10, 20), "table": {0: "zero"}, "word": "abc", "empty": ""},
}
NODE_IDS = frozenset({"n0", "n1", "n2", "n3", "n9"})


def ev(text: str, inputs: Mapping[str, Any] | None = None, node_ids: Collection[str] = NODE_IDS) -> Any:
    inputs = INPUTS if inputs is None else inputs
    return parse(text).evaluate(inputs, {node_id: inputs.get(node_id) for node_id in node_ids})


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionError, ValueError)
    assert issubclass(ExpressionSyntaxError, ExpressionError)
    assert issubclass(ExpressionTypeError, ExpressionError)


@pytest.mark.parametrize(
    ("text", "expected", "expected_type"),
    [
        ("true", True, bool),
        ("false", False, bool),
        ("null", None, type(None)),
        ("3", 3, int),
        ("-2", -2, int),
        ("0", 0, int),
        ("2.5", 2.5, float),
        ("-0.25", -0.25, float),
        ("'abc'", "abc", str),
        ('"abc"', "abc", str),
        ("''", "", str),
        (r"'it\'s'", "it's", str),
        (r'"say \"hi\""', 'say "hi"', str),
        (r"'back\\slash'", "back\\slash", str),
        ("'x\"y'", 'x"y', str),
        ("'and or not'", "and or not", str),
        ("  true  ", True, bool),
    ],
)
def test_literals(text: str, expected: Any, expected_type: type) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is expected_type


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "a or b and c",
            BoolOp("or", (Path("a", ()), BoolOp("and", (Path("b", ()), Path("c", ()))))),
        ),
        ("a or b or c", BoolOp("or", (Path("a", ()), Path("b", ()), Path("c", ())))),
        ("not a == 1", Not(Compare("==", Path("a", ()), Constant(1)))),
        ("not a and b", BoolOp("and", (Not(Path("a", ())), Path("b", ())))),
        ("(a or b) and c", BoolOp("and", (BoolOp("or", (Path("a", ()), Path("b", ()))), Path("c", ())))),
        ("x.y.0 not in z", Compare("not in", Path("x", ("y", "0")), Path("z", ()))),
        ("((1))", Constant(1)),
    ],
)
def test_tree_shape(text: str, tree: Any) -> None:
    assert parse(text).tree == tree


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("not false and false", False),
        ("not (false and false)", True),
        ("not 1 == 2", True),
        ("false or not false", True),
        ("not not true", True),
        ("1 < 2 and 2 < 3 or false", True),
        ("false and true or true", True),
    ],
)
def test_precedence_and_parentheses(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 and 'x'", True),
        ("1 and ''", False),
        ("0 or ''", False),
        ("0 or 'x'", True),
        ("null or input.score", True),
        ("not 0", True),
        ("not 'x'", False),
        ("not null", True),
    ],
)
def test_boolean_operators_return_bools(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("false and 1 < 'a'", False),
        ("true or 1 < 'a'", True),
        ("false and false and 1 < 'a'", False),
        ("false or true or 1 < 'a'", True),
    ],
)
def test_boolean_operators_short_circuit(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize("text", ["true and 1 < 'a'", "false or 1 < 'a'"])
def test_boolean_operators_evaluate_needed_operands(text: str) -> None:
    with pytest.raises(ExpressionTypeError):
        ev(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == 1", True),
        ("1 == 1.0", True),
        ("1 == '1'", False),
        ("'a' == 'a'", True),
        ("null == null", True),
        ("true == 1", False),
        ("false == 0", False),
        ("true != 1", True),
        ("true == true", True),
        ("null != 0", True),
        ("1 != 1", False),
        ("'a' != 'b'", True),
        ("1 < 2", True),
        ("2 < 1", False),
        ("1 < 1.5", True),
        ("2 <= 2", True),
        ("3 <= 2", False),
        ("3 > 2", True),
        ("2 > 2", False),
        ("2 >= 2", True),
        ("1 >= 2", False),
        ("'abc' < 'abd'", True),
        ("'b' >= 'a'", True),
        ("-2 < -1", True),
        ("input.score >= 1", True),
        ("input.label == 'low'", True),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'a' in 'cat'", True),
        ("'z' in 'cat'", False),
        ("'z' not in 'cat'", True),
        ("'a' not in 'cat'", False),
        ("'' in input.word", True),
        ("'a' in input.tags", True),
        ("'c' in input.tags", False),
        ("'c' not in input.tags", True),
        ("'k' in input.mapping", True),
        ("'v' not in input.mapping", True),
        ("20 in input.pair", True),
        ("30 not in input.pair", True),
        ("not 'a' in input.tags", False),
    ],
)
def test_membership(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'a' < 1", r"operator '<' not supported between 'str' and 'int'"),
        ("null < 1", r"operator '<' not supported between 'NoneType' and 'int'"),
        ("1 <= null", r"operator '<=' not supported between 'int' and 'NoneType'"),
        ("true < 2", r"operator '<' not supported between 'bool' and 'int'"),
        ("1.5 >= false", r"operator '>=' not supported between 'float' and 'bool'"),
        ("true > false", r"operator '>' not supported between 'bool' and 'bool'"),
        ("input.tags > input.tags", r"operator '>' not supported between 'list' and 'list'"),
        ("input.missing < 3", r"operator '<' not supported between 'NoneType' and 'int'"),
        ("1 in 'abc'", r"operator 'in' not supported between 'int' and 'str'"),
        ("'a' in 5", r"operator 'in' not supported between 'str' and 'int'"),
        ("'a' not in null", r"operator 'not in' not supported between 'str' and 'NoneType'"),
        ("input.tags in input.mapping", r"operator 'in' not supported between 'list' and 'dict'"),
    ],
)
def test_type_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionTypeError, match=message):
        ev(text)


def test_bare_input_is_all_inputs() -> None:
    result = ev("input")
    assert result == INPUTS
    assert result is not INPUTS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input.score", 1),
        ("input.other", 5),
        ("input.flag", None),
        ("input.review.items.1.name", "second"),
        ("input.nope", None),
        ("input.score.deeper", None),
    ],
)
def test_input_paths_use_first_predecessor_holding_field(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_input_path_key_holding_none_still_wins() -> None:
    inputs = {"n1": {"score": None}, "n2": {"score": 2}}
    assert ev("input.score", inputs) is None
    assert ev("input.score", dict(reversed(inputs.items()))) == 2


def test_input_path_skips_non_dict_outputs() -> None:
    inputs = {"a": ["score"], "b": "score", "c": None, "d": {"score": 7}}
    assert ev("input.score", inputs) == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n2.score", 2),
        ("n1.score", 1),
        ("n0", "plain text output"),
        ("n2.review.items.0.name", "first"),
        ("n1.other", None),
        ("n9", None),
        ("n9.score", None),
        ("n9 == null", True),
    ],
)
def test_node_references(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_node_reference_returns_whole_output() -> None:
    assert ev("n3") is INPUTS["n3"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("score", 1),
        ("other", 5),
        ("review.items.0.name", "first"),
        ("label == 'low'", True),
        ("missing", None),
        ("missing.deeper.0", None),
    ],
)
def test_bare_names_fall_back_to_input(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_node_id_takes_priority_over_field_of_same_name() -> None:
    inputs = {"n1": {"n2": "field value"}, "n2": {"x": 1}}
    assert ev("n2", inputs, {"n1", "n2"}) == {"x": 1}
    assert ev("n2", inputs, {"n1"}) == "field value"
    assert ev("n2.x", inputs, ()) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input.tags.0", "a"),
        ("input.tags.1", "b"),
        ("input.tags.2", None),
        ("input.tags.name", None),
        ("input.pair.1", 20),
        ("input.table.0", "zero"),
        ("input.word.0", None),
        ("input.score.0", None),
        ("input.review.items.9.name", None),
    ],
)
def test_index_segments(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input.score == 1 and n2.other > 3 or not approved", {"input", "n2", "approved"}),
        ("true", set()),
        ("(a in b.c) or a", {"a", "b"}),
    ],
)
def test_references(text: str, expected: set[str]) -> None:
    assert parse(text).references == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "inputs", "expected"),
    [
        ("a == b", {"n": {"a": [True, 1], "b": [1, 1]}}, False),
        ("a == b", {"n": {"a": {"k": False}, "b": {"k": 0}}}, False),
        ("a == b", {"n": {"a": {"k": [1.0]}, "b": {"k": [1]}}}, True),
        ("true in a", {"n": {"a": [1, 2]}}, False),
        ("1 in a", {"n": {"a": [True, 2]}}, False),
        ("1 in a", {"n": {"a": [1.0]}}, True),
        ("'k' in a", {"n": {"a": {"k": 1}}}, True),
    ],
)
def test_booleans_equal_only_booleans_inside_data_too(text: str, inputs: dict, expected: bool) -> None:
    assert parse(text).evaluate(inputs, {}) is expected


def test_expression_is_immutable() -> None:
    expression = parse("input.score == 1")
    assert isinstance(expression, Expression)
    assert expression.text == "input.score == 1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        expression.text = "true"  # type: ignore[misc]


@pytest.mark.parametrize("text", ["TRUE", "And", "NOT", "Null", "inx", "nota", "true_", "in-x"])
def test_keywords_are_case_sensitive_whole_words(text: str) -> None:
    assert parse(text).tree == Path(text, ())


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "unexpected end of expression at column 1"),
        ("   ", 3, "unexpected end of expression at column 4"),
        ("a ==", 4, "unexpected end of expression at column 5"),
        ("(a == 1", 7, "unexpected end of expression at column 8"),
        ("a == 1)", 6, "unexpected ')' at column 7"),
        ("()", 1, "unexpected ')' at column 2"),
        ("a + 1", 2, "unexpected '+' at column 3"),
        ("a[0]", 1, "unexpected '[' at column 2"),
        ("a; b", 1, "unexpected ';' at column 2"),
        ("a b", 2, "unexpected 'b' at column 3"),
        ("1 2", 2, "unexpected '2' at column 3"),
        ("a and", 5, "unexpected end of expression at column 6"),
        ("and a", 0, "unexpected 'and' at column 1"),
        ("not", 3, "unexpected end of expression at column 4"),
        ("a not b", 2, "unexpected 'not' at column 3"),
        ("a in in b", 5, "unexpected 'in' at column 6"),
        ("1 < 2 < 3", 6, "comparison operators cannot be chained at column 7"),
        ("a == b != c", 7, "comparison operators cannot be chained at column 8"),
        ("a in b not in c", 7, "comparison operators cannot be chained at column 8"),
        ("'abc", 0, "unterminated string at column 1"),
        ('x == "abc', 5, "unterminated string at column 6"),
        (r"'a\nb'", 2, r"invalid escape sequence '\n' at column 3"),
        ("a.", 1, "unexpected '.' at column 2"),
        ("a..b", 1, "unexpected '.' at column 2"),
        (".5", 0, "unexpected '.' at column 1"),
        ("2.", 1, "unexpected '.' at column 2"),
        ("- 2", 0, "unexpected '-' at column 1"),
        ("in.x", 0, "keyword 'in' cannot be used in a path at column 1"),
        ("a.true", 2, "keyword 'true' cannot be used in a path at column 3"),
        ("a.b.not", 4, "keyword 'not' cannot be used in a path at column 5"),
        ("x = 1", 2, "unexpected '=' at column 3"),
        ("a ! b", 2, "unexpected '!' at column 3"),
    ],
)
def test_syntax_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as excinfo:
        parse(text)
    assert excinfo.value.position == position
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("__import__('os')", 10),
        ("().__class__", 1),
        ("open('x')", 4),
        ("lambda: 1", 6),
        ("lambda x: x", 7),
        ("exec('1')", 4),
        ("eval('1')", 4),
        ("a.b()", 3),
        ("[].__class__", 0),
        ("{}", 0),
        ("a if b else c", 2),
        ("x.__class__.__mro__[1]", 19),
        ('f"{x}"', 1),
        ("input.score; import os", 11),
        ("1 + 1", 2),
        ("a.__class__.__bases__()", 21),
    ],
)
def test_hostile_code_is_a_syntax_error(text: str, position: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as excinfo:
        parse(text)
    assert excinfo.value.position == position


class _Trap:
    """An output object recording any attribute read other than those Python itself needs."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    @property
    def secret(self) -> str:
        self.touched.append("secret")
        return "leaked"

    def __getattr__(self, name: str) -> str:
        self.touched.append(name)
        return "leaked"


@pytest.mark.parametrize(
    "text",
    ["obj.secret", "obj.anything", "obj.__class__", "obj.__dict__", "obj.__class__.__bases__", "obj.0"],
)
def test_paths_never_read_python_attributes(text: str) -> None:
    trap = _Trap()
    inputs = {"n1": {"obj": trap}}
    assert parse(text).evaluate(inputs, {"n1": inputs["n1"]}) is None
    assert trap.touched == []


@pytest.mark.parametrize(
    "text",
    ["a.__class__.__bases__", "input.__class__", "n1.__dict__", "input.score.__class__", "__builtins__"],
)
def test_dunder_segments_resolve_to_none(text: str) -> None:
    assert ev(text, {"n1": {"a": {}, "score": 1}}, {"n1"}) is None


def test_dunder_segments_are_ordinary_dict_keys() -> None:
    assert ev("a.__class__", {"n1": {"a": {"__class__": "just a key"}}}) == "just a key"


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "a == 'b" + "c" * 100_000 + "'",
        "(" * 10_000 + "a" + ")" * 10_000,
        "(" * 10_000,
        "not " * 10_000 + "true",
        "(" * 400 + "a" + ")" * 400,
        "not " * 33 + "true",
        "(" * 33 + "1" + ")" * 33,
        "not (" * 20 + "a" + ")" * 20,
        "'" * 1001,
    ],
)
def test_hostile_sizes_are_rejected(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not " * 32 + "true", True),
        ("not " * 31 + "true", False),
        ("(" * 32 + "1" + ")" * 32, 1),
        ("a or " * 199 + "true", True),
        ("a and " * 166 + "a", False),
        ("1 == " + "1" * 900, False),
    ],
)
def test_limits_are_inclusive(text: str, expected: Any) -> None:
    assert len(text) <= 1000
    assert ev(text, {}) == expected


def test_length_limit_boundary() -> None:
    assert ev("'" + "x" * 998 + "'", {}) == "x" * 998
    with pytest.raises(ExpressionSyntaxError, match="longer than 1000 characters") as excinfo:
        parse("'" + "x" * 999 + "'")
    assert excinfo.value.position == 1000


def test_depth_error_reports_offending_position() -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested deeper than 32") as excinfo:
        parse("(" * 33 + "1" + ")" * 33)
    assert excinfo.value.position == 32
