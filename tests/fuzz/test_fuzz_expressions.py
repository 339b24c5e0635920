"""Fuzzing the condition language: any text parses or is refused with a syntax error; any parsed expression
evaluates on any data or is refused with an expression error; nothing else escapes, nothing runs code."""

from __future__ import annotations

import contextlib
import time

from hypothesis import given
from hypothesis import strategies as st

from gathering_provider.expressions import ExpressionError, ExpressionSyntaxError, parse
from tests.fuzz.conftest import FUZZING

TOKENS = [
    "and", "or", "not", "in", "true", "false", "null", "(", ")", "==", "!=", "<", "<=", ">", ">=",
    "a", "b.c", "a.0", "input", "input.x", "n1.result", "'s'", '"t"', "1", "-2.5", "0", "__class__",
    "a.__init__", "'\\''", ".", "[", "]", "{", "}", "lambda", "import", "1e5",
]  # fmt: skip
data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "c", "0", "x", "result"]), inner)
    ),
    max_leaves=10,
)
texts = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join) | st.text(max_size=200)
inputs = st.dictionaries(st.sampled_from(["n1", "n2", "a"]), data, max_size=3)


@given(text=texts, given_inputs=inputs, outputs=st.dictionaries(st.sampled_from(["n1", "b", "a"]), data))
def test_expressions(text, given_inputs, outputs):
    started = time.perf_counter()
    try:
        expression = parse(text)
    except ExpressionSyntaxError:
        return
    with contextlib.suppress(ExpressionError):
        expression.evaluate(given_inputs, outputs)
    if FUZZING:
        assert time.perf_counter() - started < 2
