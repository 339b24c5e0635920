"""Find and read pipeline files (JSON or YAML) into plain data, with the line and column of syntax errors."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path, PurePath
from typing import Any

import yaml

from gathering_provider.definition.limits import Limits

PIPELINE_SUFFIXES = (".json", ".yaml", ".yml")
_YAML_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
TEXT_KEYS = frozenset({"id", "from", "to", "condition", "next", "parallel_nodes", "dag_id"})
"""Keys whose plain scalars stay text as written (ids and labels: ``010``, ``0x1F``, ``true``)."""
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class PipelineYamlLoader(_YAML_BASE):  # type: ignore[misc, valid-type]
    """A safe YAML loader (libyaml's when PyYAML has it) with YAML 1.2's core schema.

    Only ``true``/``false`` are booleans (not ``yes``/``no``/``on``/``off``), integers are decimal, ``0o``
    or ``0x`` (``010`` is ten; no sexagesimal ``12:30``), NaN and infinities are refused, a key may appear
    once per mapping, and the values of :data:`TEXT_KEYS` stay text as written.
    """

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse duplicate keys; keep the scalars under :data:`TEXT_KEYS` as text."""
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.add(key_node.value)
            if key_node.value in TEXT_KEYS:
                for scalar in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                    plain = isinstance(scalar, yaml.ScalarNode) and not scalar.style  # style None or ""
                    if plain and scalar.tag != _NULL:
                        scalar.tag = _STR
        return super().construct_mapping(node, deep=deep)

    def construct_core_int(self, node: yaml.ScalarNode) -> int:
        """A YAML 1.2 core integer: decimal (leading zeros allowed), ``0o`` octal or ``0x`` hexadecimal."""
        text = self.construct_scalar(node)
        base = {"0o": 8, "0x": 16}.get(text[:2], 10)
        return int(text[2:] if base != 10 else text, base)

    def construct_core_float(self, node: yaml.ScalarNode) -> float:
        """A finite YAML 1.2 core float; NaN and infinities are refused."""
        text = self.construct_scalar(node)
        if text.lstrip("+-").lower() in (".inf", ".nan"):
            raise yaml.constructor.ConstructorError(
                None, None, f"{text} is not allowed: numbers must be finite", node.start_mark
            )
        return float(text)


for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("null", r"~|null|Null|NULL|", "~nN"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),
):
    PipelineYamlLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}",
        re.compile(f"^(?:{_pattern})$"),
        [*_first, ""] if _tag == "null" else list(_first),
    )
PipelineYamlLoader.add_constructor("tag:yaml.org,2002:int", PipelineYamlLoader.construct_core_int)
PipelineYamlLoader.add_constructor("tag:yaml.org,2002:float", PipelineYamlLoader.construct_core_float)


class PipelineFileError(ValueError):
    """A pipeline file that cannot be read as one JSON or YAML object.

    :param code: the problem code validate reports: ``unreadable`` when the file could not be read,
        ``too-large`` past a size limit, ``invalid-syntax`` otherwise.

    ``reason`` is the message without its line and column (1-based, ``None`` when unknown).
    """

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, code: str = "invalid-syntax"
    ) -> None:
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")
        self.reason, self.line, self.column, self.code = message, line, column, code


def is_pipeline_file(path: PurePath) -> bool:
    """Whether ``path`` names a pipeline file by its suffix."""
    return path.suffix.lower() in PIPELINE_SUFFIXES


def folder_files(folder: Path, keep: Callable[[str], bool]) -> list[str]:
    """The files under ``folder`` whose name ``keep`` accepts, recursively, as sorted relative POSIX paths.

    Hidden files and folders (``.x.json``, ``.ipynb_checkpoints/``) are skipped, and so are symbolic links
    that lead out of ``folder`` and entries that vanish while listed; each folder is listed once. A folder
    that cannot be listed is given as its relative path ending in ``/`` (``./`` for ``folder`` itself), for
    the caller to report.
    """
    root = os.path.realpath(folder)
    found: list[str] = []
    pending, visited = [("", root)], {root}
    while pending:
        prefix, directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            found.append(prefix or "./")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                real = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
                if os.path.commonpath([root, real]) != root:
                    continue
                if entry.is_dir():
                    if real not in visited:
                        visited.add(real)
                        pending.append((f"{prefix}{entry.name}/", real))
                elif keep(entry.name) and entry.is_file():
                    found.append(prefix + entry.name)
            except OSError:  # vanished or unreachable while listed
                continue
    return sorted(found)


def folder_pipeline_files(folder: Path) -> list[str]:
    """The pipeline files under ``folder``, recursively, as sorted relative POSIX paths (see
    :func:`folder_files`)."""
    return folder_files(folder, lambda name: is_pipeline_file(PurePath(name)))


def pipeline_files(paths: Iterable[Path]) -> list[Path]:
    """Each file as given, and the pipeline files of each folder (recursively, sorted; a folder that cannot
    be listed is given itself, so that reading it reports it); each file once, where it first appears, when
    the paths overlap."""
    files: dict[Path, Path] = {}
    for path in paths:
        found = [path / name for name in folder_pipeline_files(path)] if path.is_dir() else [path]
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def read_text(path: Path, limits: Limits | None = None) -> str:
    """The text of the regular file ``path``, at most ``limits.file_bytes`` long, decoded as UTF-8 (with or
    without a byte order mark); raise :class:`PipelineFileError` otherwise.

    A FIFO, a device or a folder is refused without being read.
    """
    limit = (limits or Limits.read()).file_bytes
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except IsADirectoryError as err:
        raise PipelineFileError(
            f"cannot read folder {str(path)!r}: {err.strerror}", code="unreadable"
        ) from err
    except FileNotFoundError as err:
        raise PipelineFileError(f"no such file or folder: {str(path)!r}", code="unreadable") from err
    except OSError as err:
        kind = "folder" if os.path.isdir(path) else "file"
        raise PipelineFileError(
            f"cannot read {kind} {str(path)!r}: {err.strerror}", code="unreadable"
        ) from err
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            try:
                os.listdir(path)
            except OSError as err:
                raise PipelineFileError(
                    f"cannot read folder {str(path)!r}: {err.strerror}", code="unreadable"
                ) from err
            raise PipelineFileError(f"{str(path)!r} is a folder, not a pipeline file", code="unreadable")
        if not stat.S_ISREG(mode):
            raise PipelineFileError(f"{str(path)!r} is not a regular file", code="unreadable")
        try:
            data = file.read(limit + 1)
        except OSError as err:
            raise PipelineFileError(
                f"cannot read file {str(path)!r}: {err.strerror}", code="unreadable"
            ) from err
    if len(data) > limit:
        raise PipelineFileError(
            f"file is larger than {limit} bytes ([gathering] max_file_bytes)", code="too-large"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PipelineFileError(f"not UTF-8 text: {err}", code="unreadable") from err


def compose(text: str, source: PurePath) -> yaml.Node | None:
    """The YAML node tree of pipeline text, JSON or YAML by ``source``'s suffix, whose nodes' marks give
    their line and column (0-based); ``None`` when the text cannot be composed.

    JSON is YAML's flow syntax; its escaped surrogate pairs (``\\ud83d\\ude00``), which YAML refuses, are
    read as another escape of the same length, so every mark stays in place.
    """
    if source.suffix.lower() == ".json":
        text = _SURROGATE_ESCAPE.sub(r"\\u0020", text)
    try:
        return yaml.compose(text.removeprefix("\ufeff"), Loader=_YAML_BASE)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None


def position(node: yaml.Node) -> tuple[int, int]:
    """Where ``node`` starts: its line and column, 1-based."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def _first(root: yaml.Node | None, offends: Callable[[yaml.Node], yaml.Node | None]) -> yaml.Node | None:
    """The first node, in document order, for which ``offends`` names an offending node."""
    pending = [root] if root is not None else []
    while pending:
        node = pending.pop()
        if (found := offends(node)) is not None:
            return found
        if isinstance(node, yaml.MappingNode):
            pending.extend(reversed([child for pair in node.value for child in pair]))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(reversed(node.value))
    return None


class _RefusedValue(ValueError):
    """A JSON value refused while the text is parsed; ``offends`` finds it in the composed text."""

    def __init__(self, message: str, offends: Callable[[yaml.Node], yaml.Node | None]) -> None:
        super().__init__(message)
        self.offends = offends


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _RefusedValue(f"duplicate key {key!r}", partial(_second_key, key))
        document[key] = value
    return document


def _second_key(key: str, node: yaml.Node) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    keys = [key_node for key_node, _ in node.value if key_node.value == key]
    return keys[1] if len(keys) > 1 else None


def _refuse_constant(name: str) -> None:
    raise _RefusedValue(f"{name} is not allowed: numbers must be finite", partial(_plain, name))


def _plain(text: str, node: yaml.Node) -> yaml.Node | None:
    return node if isinstance(node, yaml.ScalarNode) and not node.style and node.value == text else None


def _huge_integer(node: yaml.Node) -> yaml.Node | None:
    """A JSON integer of more digits than Python converts (``sys.get_int_max_str_digits()``)."""
    limit = sys.get_int_max_str_digits()
    digits = node.value.lstrip("-") if isinstance(node, yaml.ScalarNode) and not node.style else ""
    return node if limit and digits.isdigit() and len(digits) > limit else None


def _load(text: str, source: PurePath) -> Any:
    if source.suffix.lower() == ".json":
        try:
            return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
        except json.JSONDecodeError as err:
            raise PipelineFileError(f"invalid JSON: {err.msg}", err.lineno, err.colno) from err
        except ValueError as err:  # a duplicate key, NaN, an integer of thousands of digits
            found = _first(compose(text, source), getattr(err, "offends", _huge_integer))
            line, column = position(found) if found is not None else (None, None)
            raise PipelineFileError(f"invalid JSON: {err}", line, column) from err
    try:
        return yaml.load(text, Loader=PipelineYamlLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "syntax error"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise PipelineFileError(f"invalid YAML: {problem}", line, column) from err
    except (yaml.YAMLError, ValueError) as err:
        raise PipelineFileError(f"invalid YAML: {err}") from err


def _check_shape(document: Any, limits: Limits) -> None:
    """Refuse a document nested deeper than the limit, or holding more values than the limit once YAML
    aliases are expanded; one walk, stopped as soon as a limit is passed."""
    values, pending = 1, [(document, 1)]  # only objects and lists wait: scalars are counted, not visited
    while pending:
        value, depth = pending.pop()
        if depth > limits.nesting_depth:
            raise PipelineFileError(
                f"objects and lists are nested deeper than {limits.nesting_depth} levels "
                "([gathering] max_nesting_depth)",
                code="too-large",
            )
        items = value.values() if isinstance(value, dict) else value
        values += len(items)
        if values > limits.values:
            raise PipelineFileError(
                f"the document holds more than {limits.values} values once YAML aliases are expanded "
                "([gathering] max_file_bytes)",
                code="too-large",
            )
        pending.extend((item, depth + 1) for item in items if isinstance(item, dict | list))


def parse_document(text: str, source: PurePath, limits: Limits | None = None) -> dict[str, Any]:
    """Parse pipeline text, JSON or YAML by ``source``'s suffix, with a safe loader, within ``limits``."""
    limits = limits or Limits.read()
    if len(text) > limits.file_bytes:
        raise PipelineFileError(
            f"text is longer than {limits.file_bytes} characters ([gathering] max_file_bytes)",
            code="too-large",
        )
    try:
        document = _load(text.removeprefix("\ufeff"), source)
    except RecursionError as err:
        raise PipelineFileError(
            f"objects and lists are nested deeper than {limits.nesting_depth} levels "
            "([gathering] max_nesting_depth)",
            code="too-large",
        ) from err
    if not isinstance(document, dict):
        raise PipelineFileError(f"expected one pipeline object, found {type(document).__name__}")
    _check_shape(document, limits)
    return document


def dag_id_of(document: dict[str, Any], source: PurePath) -> str:
    """The DAG id a pipeline asks for: its ``dag_id`` field, else the file name's stem."""
    dag_id = document.get("dag_id")
    return dag_id if isinstance(dag_id, str) else source.stem
