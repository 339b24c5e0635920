"""Size limits on pipeline files, from ``[gathering]``: what a pipeline author can make the parser do."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gathering_provider import config


class Limits(BaseModel):
    """The ``max_*`` options of ``[gathering]``, read in one go."""

    model_config = ConfigDict(frozen=True)

    file_bytes: int
    nodes: int
    edges: int
    nesting_depth: int
    expression_length: int

    @property
    def values(self) -> int:
        """Most values (scalars, objects, lists) a file may hold once YAML aliases are expanded: one per
        byte of the largest file."""
        return self.file_bytes

    @classmethod
    def read(cls, options: dict[str, str] | None = None) -> Limits:
        """Read the limits from ``options`` (``[gathering]``'s values as text), by default from Airflow's
        config."""
        values = config.section() if options is None else options
        return cls(
            file_bytes=int(values["max_file_bytes"]),
            nodes=int(values["max_nodes"]),
            edges=int(values["max_edges"]),
            nesting_depth=int(values["max_nesting_depth"]),
            expression_length=int(values["max_expression_length"]),
        )
