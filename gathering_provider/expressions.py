"""Safe evaluation of the boolean expressions carried by pipeline condition nodes.

Grammar (lowest precedence first; keywords are case-sensitive and are not identifiers)::

    expression := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := primary [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") primary]
    primary    := "true" | "false" | "null" | NUMBER | STRING | PATH | "(" expression ")"
    PATH       := IDENT ("." (IDENT | DIGITS))*        IDENT := [A-Za-z_][A-Za-z0-9_-]*

Comparisons do not chain. Text is tokenized with regular expressions and parsed by recursive descent
into an immutable tree; input length and nesting depth are bounded, and nothing is ever handed to
Python's own compiler. Path segments only index into dicts (by key) and lists/tuples (by position).
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "BoolOp",
    "Compare",
    "Constant",
    "Expression",
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "Node",
    "Not",
    "Path",
    "parse",
]

MAX_LENGTH = 1000
MAX_DEPTH = 32

_INPUT = "input"
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_LITERAL_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_TOKEN_RE = re.compile(
    rf"""
    (?P<space>\s+)
    | (?P<number>-?[0-9]+(?:\.[0-9]+)?)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<path>{_IDENT}(?:\.(?:{_IDENT}|[0-9]+))*)
    | (?P<operator>==|!=|<=|>=|<|>)
    | (?P<paren>[()])
    """,
    re.VERBOSE | re.ASCII | re.DOTALL,
)
_SEGMENT_RE = re.compile(rf"{_IDENT}|[0-9]+", re.ASCII)
_ESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()


class ExpressionError(ValueError):
    """Base class for every error raised while parsing or evaluating an expression."""


class ExpressionSyntaxError(ExpressionError):
    """The expression text is malformed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at column {position + 1}")
        self.position = position


class ExpressionTypeError(ExpressionError):
    """An operator was applied to values of unsupported types."""


# --------------------------------------------------------------------------------------------------- tree


class Node(ABC):
    """A node of the parsed expression tree."""

    @abstractmethod
    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Compute the value of this node."""

    @abstractmethod
    def paths(self) -> Iterator[Path]:
        """Yield every path referenced by this node and its descendants."""


@dataclass(frozen=True)
class Constant(Node):
    """A literal value: boolean, null, number or string."""

    value: bool | int | float | str | None

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Return the literal value."""
        return self.value

    def paths(self) -> Iterator[Path]:
        """Literals reference nothing."""
        yield from ()


@dataclass(frozen=True)
class Path(Node):
    """A reference such as ``input.score``, ``n2.items.0`` or bare ``approved``."""

    root: str
    segments: tuple[str, ...]

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Resolve the reference against the predecessor outputs; anything missing yields None."""
        if self.root == _INPUT:
            if not self.segments:
                return dict(inputs)
            value, rest = _first_holding(inputs, self.segments[0]), self.segments[1:]
        elif self.root in outputs:
            value, rest = outputs[self.root], self.segments
        else:
            value, rest = _first_holding(inputs, self.root), self.segments
        for segment in rest:
            value = _child(value, segment)
            if value is _MISSING:
                return None
        return None if value is _MISSING else value

    def paths(self) -> Iterator[Path]:
        """Yield this path."""
        yield self


@dataclass(frozen=True)
class Not(Node):
    """Boolean negation."""

    operand: Node

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Return the negated truthiness of the operand."""
        return not self.operand.evaluate(inputs, outputs)

    def paths(self) -> Iterator[Path]:
        """Yield the operand's paths."""
        yield from self.operand.paths()


@dataclass(frozen=True)
class BoolOp(Node):
    """A chain of ``and`` or ``or`` operands, evaluated left to right with short-circuiting."""

    op: str
    operands: tuple[Node, ...]

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Return the truthiness of the conjunction or disjunction as a bool."""
        values = (operand.evaluate(inputs, outputs) for operand in self.operands)
        return all(values) if self.op == "and" else any(values)

    def paths(self) -> Iterator[Path]:
        """Yield the paths of every operand."""
        for operand in self.operands:
            yield from operand.paths()


@dataclass(frozen=True)
class Compare(Node):
    """A single (non-chained) comparison or membership test."""

    op: str
    left: Node
    right: Node

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Compare both sides, raising ExpressionTypeError for unsupported operand types."""
        left = self.left.evaluate(inputs, outputs)
        right = self.right.evaluate(inputs, outputs)
        if self.op == "==":
            return _equal(left, right)
        if self.op == "!=":
            return not _equal(left, right)
        if self.op in _ORDERINGS:
            if not (_is_number(left) and _is_number(right)) and not (
                isinstance(left, str) and isinstance(right, str)
            ):
                raise _type_error(self.op, left, right)
            return _ORDERINGS[self.op](left, right)
        found = _contains(self.op, left, right)
        return found if self.op == "in" else not found

    def paths(self) -> Iterator[Path]:
        """Yield the paths of both sides."""
        yield from self.left.paths()
        yield from self.right.paths()


def _first_holding(inputs: Mapping[str, Any], field: str) -> Any:
    """Return ``field`` from the first predecessor output that is a dict holding it."""
    for output in inputs.values():
        if isinstance(output, dict) and (value := _child(output, field)) is not _MISSING:
            return value
    return _MISSING


def _child(container: Any, segment: str) -> Any:
    """Index a dict by key or a list/tuple by position; return ``_MISSING`` for anything else."""
    if isinstance(container, dict):
        if segment in container:
            return container[segment]
        return container.get(int(segment), _MISSING) if segment.isdigit() else _MISSING
    if isinstance(container, list | tuple) and segment.isdigit() and int(segment) < len(container):
        return container[int(segment)]
    return _MISSING


def _is_number(value: Any) -> bool:
    """Whether ``value`` is an int or float (booleans excluded)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_error(op: str, left: Any, right: Any) -> ExpressionTypeError:
    """Build the error for an operator applied to unsupported operand types."""
    return ExpressionTypeError(
        f"operator '{op}' not supported between '{type(left).__name__}' and '{type(right).__name__}'"
    )


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: a boolean equals only the same boolean (``true == 1`` is false), also inside lists
    and objects; numbers compare by value (``1 == 1.0``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(value, right[key]) for key, value in left.items())
    return bool(left == right)


def _contains(op: str, item: Any, container: Any) -> bool:
    """Membership test restricted to strings (substring), lists and tuples (an equal item) and dicts (an
    equal key)."""
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _type_error(op, item, container)
        return item in container
    if not isinstance(container, list | tuple | dict) or (
        isinstance(container, dict) and isinstance(item, list | tuple | dict)
    ):
        raise _type_error(op, item, container)
    return any(_equal(item, member) for member in container)


# ------------------------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class _Token:
    """A lexical token; ``kind`` is one of number, string, path, keyword, operator, paren, end."""

    kind: str
    text: str
    position: int
    value: Any = None


def _tokenize(text: str) -> Iterator[_Token]:
    """Lazily split ``text`` into tokens, terminated by an ``end`` token."""
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            problem = "unterminated string" if text[position] in "'\"" else f"unexpected {text[position]!r}"
            raise ExpressionSyntaxError(problem, position)
        kind, lexeme = match.lastgroup or "", match.group()
        if kind == "number":
            yield _Token(kind, lexeme, position, float(lexeme) if "." in lexeme else int(lexeme))
        elif kind == "string":
            yield _Token(kind, lexeme, position, _unescape(lexeme, position))
        elif kind == "path":
            yield _path_token(lexeme, position)
        elif kind != "space":
            yield _Token(kind, lexeme, position)
        position = match.end()
    yield _Token("end", "", len(text))


def _unescape(lexeme: str, position: int) -> str:
    """Decode a quoted string literal, allowing only escaped quotes and backslashes."""
    body = lexeme[1:-1]
    for escape in _ESCAPE_RE.finditer(body):
        if escape.group(1) not in "\\'\"":
            raise ExpressionSyntaxError(
                f"invalid escape sequence '{escape.group()}'", position + 1 + escape.start()
            )
    return _ESCAPE_RE.sub(r"\1", body)


def _path_token(lexeme: str, position: int) -> _Token:
    """Classify a dotted word as a keyword or a path, rejecting keywords used as path parts."""
    if lexeme in _KEYWORDS:
        return _Token("keyword", lexeme, position)
    for segment in _SEGMENT_RE.finditer(lexeme):
        if segment.group() in _KEYWORDS:
            raise ExpressionSyntaxError(
                f"keyword {segment.group()!r} cannot be used in a path", position + segment.start()
            )
    root, *segments = lexeme.split(".")
    return _Token("path", lexeme, position, Path(root, tuple(segments)))


class _Parser:
    """Recursive-descent parser, depth-bounded; tokens are read on demand so the earliest error wins."""

    def __init__(self, text: str) -> None:
        self._stream = _tokenize(text)
        self._tokens: list[_Token] = []
        self._index = 0
        self._depth = 0

    def parse(self) -> Node:
        """Parse a whole expression and require that all input is consumed."""
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            raise self._unexpected(token)
        return node

    def _peek(self, offset: int = 0) -> _Token:
        while len(self._tokens) <= self._index + offset and (token := next(self._stream, None)) is not None:
            self._tokens.append(token)
        return self._tokens[min(self._index + offset, len(self._tokens) - 1)]

    def _advance(self) -> _Token:
        token = self._peek()
        self._index += 1
        return token

    def _accept_keyword(self, keyword: str) -> bool:
        if self._peek().kind == "keyword" and self._peek().text == keyword:
            self._index += 1
            return True
        return False

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ExpressionSyntaxError(f"expression nested deeper than {MAX_DEPTH} levels", token.position)

    @staticmethod
    def _unexpected(token: _Token) -> ExpressionSyntaxError:
        described = "end of expression" if token.kind == "end" else repr(token.text)
        return ExpressionSyntaxError(f"unexpected {described}", token.position)

    def _or(self) -> Node:
        operands = [self._and()]
        while self._accept_keyword("or"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._accept_keyword("and"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def _not(self) -> Node:
        token = self._peek()
        if not self._accept_keyword("not"):
            return self._comparison()
        self._enter(token)
        operand = self._not()
        self._depth -= 1
        return Not(operand)

    def _comparison_operator(self) -> tuple[str, int] | None:
        """Return the comparison operator at the cursor and its token count, without consuming it."""
        token = self._peek()
        if token.kind == "operator":
            return token.text, 1
        if token.kind != "keyword":
            return None
        if token.text == "in":
            return "in", 1
        if token.text == "not" and self._peek(1).kind == "keyword" and self._peek(1).text == "in":
            return "not in", 2
        return None

    def _comparison(self) -> Node:
        left = self._primary()
        found = self._comparison_operator()
        if found is None:
            return left
        op, width = found
        self._index += width
        right = self._primary()
        if self._comparison_operator() is not None:
            raise ExpressionSyntaxError("comparison operators cannot be chained", self._peek().position)
        return Compare(op, left, right)

    def _primary(self) -> Node:
        token = self._advance()
        if token.kind in ("number", "string"):
            return Constant(token.value)
        if token.kind == "path":
            return token.value
        if token.kind == "keyword" and token.text in _LITERAL_KEYWORDS:
            return Constant(_LITERAL_KEYWORDS[token.text])
        if token.kind == "paren" and token.text == "(":
            self._enter(token)
            node = self._or()
            closing = self._advance()
            if closing.kind != "paren" or closing.text != ")":
                raise self._unexpected(closing)
            self._depth -= 1
            return node
        raise self._unexpected(token)


# ------------------------------------------------------------------------------------------------ public


@dataclass(frozen=True)
class Expression:
    """A parsed condition expression."""

    text: str
    tree: Node

    def evaluate(self, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        """Evaluate against ``inputs`` (ordered ``{predecessor_id: output}``) and ``outputs``.

        ``outputs`` maps every node id of the pipeline to its output, ``None`` for a node that did not run.
        """
        return self.tree.evaluate(inputs, outputs)

    @property
    def references(self) -> frozenset[str]:
        """First identifiers of every path used, e.g. ``{"input", "n2", "approved"}``."""
        return frozenset(path.root for path in self.tree.paths())


def parse(text: str, max_length: int = MAX_LENGTH) -> Expression:
    """Parse ``text`` into an Expression, raising ExpressionSyntaxError when it is malformed or longer than
    ``max_length``."""
    if len(text) > max_length:
        raise ExpressionSyntaxError(f"expression longer than {max_length} characters", max_length)
    return Expression(text, _Parser(text).parse())
