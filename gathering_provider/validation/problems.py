"""What validation reports: one :class:`Problem` per defect, naming the file and the node or edge."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class Severity(StrEnum):
    """How bad a problem is; only errors stop a file from becoming a DAG."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Problem(BaseModel):
    """One finding about one pipeline file."""

    file: str
    severity: Severity
    code: str
    node: str | None = None
    edge: str | None = None
    message: str

    def __str__(self) -> str:
        subject = f"node '{self.node}': " if self.node else f"edge '{self.edge}': " if self.edge else ""
        return f"{self.file}: {self.severity.value} [{self.code}] {subject}{self.message}"
