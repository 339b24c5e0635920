"""What validation reports: one :class:`Problem` per defect, naming the file, the line and column, and the
node or edge."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, Field


class Severity(StrEnum):
    """How bad a problem is; only errors stop a file from becoming a DAG."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Spot(NamedTuple):
    """What a problem concerns in the document: the value at ``path`` (``("nodes", 3, "config", "cron")``),
    or, with ``key``, the key that leads to it."""

    path: tuple[str | int, ...]
    key: bool = False


class Problem(BaseModel):
    """One finding about one pipeline file.

    ``line`` and ``column`` (1-based) are known for syntax errors at once; for the others they are found
    from ``at`` (or the node or edge named) when the problems are shown (see
    :meth:`~gathering_provider.validation.validator.ValidationResult.locate`).
    """

    file: str
    line: int | None = None
    column: int | None = None
    severity: Severity
    code: str
    node: str | None = None
    edge: str | None = None
    message: str
    at: Spot | None = Field(default=None, exclude=True, repr=False)

    def __str__(self) -> str:
        """``file:line:column: severity [code] node 'x': message``, as compilers and linters print."""
        if self.line is not None:
            where = f"{self.file}:{self.line}:{self.column}: "
        else:
            where = f"{self.file}: " if self.file else ""
        subject = f"node '{self.node}': " if self.node else f"edge '{self.edge}': " if self.edge else ""
        return f"{where}{self.severity.value} [{self.code}] {subject}{self.message}"
