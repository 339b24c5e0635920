"""Pydantic models of a gathering pipeline: what the editor and the API write, plus our own fields.

Editor aliases (``task_prompt``, ``delay_seconds``, ``action_type``, ``webhook_url``) are accepted, numeric
ids are read as strings, and gathering's bookkeeping fields (``run_count``...) are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, urlsplit

import networkx as nx
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from gathering_provider.expressions import Expression, parse

NODE_TYPES = ("trigger", "agent", "condition", "action", "parallel", "delay")


DAY = 86_400
Attempts = Annotated[int, Field(strict=True, ge=1, le=100)]
"""Attempts per node execution, the first included."""
TaskRetries = Annotated[int, Field(strict=True, ge=0, le=100)]
Threshold = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
Backoff = Annotated[float, Field(strict=True, ge=0, le=DAY)]
"""Seconds between attempts: at most a day."""
Duration = Annotated[float, Field(strict=True, gt=0, le=30 * DAY)]
"""A positive number of seconds, at most 30 days."""
DelaySeconds = Annotated[float, Field(strict=True, ge=0, le=30 * DAY)]
RequestTimeout = Annotated[float, Field(strict=True, gt=0, le=DAY)]


def _latin1(value: str) -> str:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError as err:
        raise ValueError("an HTTP header value must be Latin-1 text") from err
    return value


HeaderName = Annotated[StrictStr, StringConstraints(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
HeaderValue = Annotated[StrictStr, StringConstraints(pattern=r"^[^\r\n]*$"), AfterValidator(_latin1)]


def _id_text(value: Any) -> Any:
    """Read numeric ids (the editor writes some) as text; leave everything else to validation."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Identifier = Annotated[StrictStr, BeforeValidator(_id_text)]


def _label_text(value: Any) -> Any:
    """Read a YAML boolean label (``condition: true``) as the label ``"true"``."""
    return str(value).lower() if isinstance(value, bool) else value


class NodeConfig(BaseModel):
    """Settings every node type accepts; unknown keys are kept (actions pass them to their tool).

    Retry settings override the pipeline's and ``[gathering]``'s; ``max_retries`` is the total number of
    attempts. ``breaker`` turns the node's circuit breaker on or off (on by default for agents and
    actions); ``breaker_key`` shares one breaker among nodes that call the same resource.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    max_retries: Attempts | None = None
    backoff_base: Backoff | None = None
    backoff_max: Backoff | None = None
    backoff_jitter: Backoff | None = None
    breaker: StrictBool | None = None
    breaker_key: Annotated[str, StringConstraints(pattern=r"^[\w.-]+$", max_length=200)] | None = None
    failure_threshold: Threshold | None = None
    recovery_timeout: Duration | None = None

    @property
    def passes_through(self) -> bool:
        """Whether the node's output is its inputs passed on (stored as references to them)."""
        return False


class TriggerConfig(NodeConfig):
    """How a run starts: by hand, by webhook (REST API with conf), on a cron schedule or on an event."""

    trigger_type: Literal["manual", "webhook", "schedule", "event"] = "manual"
    cron: StrictStr | None = None
    event: StrictStr | None = None

    @model_validator(mode="after")
    def _schedule_inputs(self) -> TriggerConfig:
        if self.trigger_type == "schedule" and not self.cron:
            raise ValueError("a schedule trigger needs 'cron'")
        if self.trigger_type == "event" and not (self.event and self.event.strip()):
            raise ValueError("an event trigger needs 'event'")
        return self


NonEmpty = Annotated[StrictStr, StringConstraints(min_length=1)]


class AgentConfig(NodeConfig):
    """An agent call: the agent, the task it is given and the backend that answers.

    ``conn_id`` names the ``gathering`` connection of the gathering API (default ``gathering_default``),
    asked with ``include_memories`` and ``allow_tools``; ``llm_conn_id`` runs the task as one LLM call
    instead, with an optional ``model`` and ``system_prompt``.
    """

    agent_id: int | StrictStr
    task: StrictStr = Field(validation_alias=AliasChoices("task", "task_prompt"))
    agent_name: str | None = None
    conn_id: NonEmpty | None = None
    include_memories: StrictBool = True
    allow_tools: StrictBool = True
    llm_conn_id: NonEmpty | None = None
    model: NonEmpty | None = None
    system_prompt: StrictStr | None = None

    @model_validator(mode="after")
    def _one_backend(self) -> AgentConfig:
        given = self.model_fields_set
        if self.conn_id and self.llm_conn_id:
            raise ValueError("give either 'conn_id' (the gathering API) or 'llm_conn_id' (an LLM), not both")
        if self.llm_conn_id and {"include_memories", "allow_tools"} & given:
            raise ValueError("'include_memories' and 'allow_tools' apply to the gathering API, not to an LLM")
        if not self.llm_conn_id and {"model", "system_prompt"} & given:
            raise ValueError("'model' and 'system_prompt' need 'llm_conn_id'")
        return self


def _expression(value: Any, info: ValidationInfo) -> Expression:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    limits = (info.context or {}).get("limits")
    return parse(value, limits.expression_length) if limits else parse(value)


ConditionText = Annotated[
    Expression,
    PlainValidator(_expression),
    PlainSerializer(lambda expression: expression.text, return_type=str),
    WithJsonSchema({"type": "string"}),
]
"""A condition: written as text, held parsed (each condition is parsed once, when validated)."""


class ConditionConfig(NodeConfig):
    """A condition in the expression language of :mod:`gathering_provider.expressions`."""

    condition: ConditionText


def _valid_port(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018  (reading it checks it)
    except ValueError:
        return False
    return True


def split_url(url: str) -> tuple[str, str]:
    """Split an absolute http(s) URL into its base (scheme and host) and its endpoint (path and query).

    Credentials in the URL are refused: they belong in an HTTP connection, which Airflow keeps secret.
    Neither error repeats the URL, which may hold them.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _valid_port(parts):
        raise ValueError("not an absolute http(s) URL with a host and, if any, a port number")
    if "@" in parts.netloc:
        raise ValueError(
            "credentials in a URL are refused: put them in an HTTP connection and give its id as "
            "'http_conn_id'"
        )
    return f"{parts.scheme}://{parts.netloc}", parts.path + (f"?{parts.query}" if parts.query else "")


DagId = Annotated[StrictStr, StringConstraints(pattern=r"^[\w.-]+$", max_length=250)]


class ActionConfig(NodeConfig):
    """An action; ``call_api``, ``send_notification`` and ``execute_pipeline`` have handlers, other words
    are recorded.

    ``execute_pipeline`` triggers the pipeline whose DAG id is ``pipeline`` with the node's inputs merged
    with ``conf`` as the run's conf; with ``wait`` the node waits for that run to finish (checking every
    ``poll_interval`` seconds). It calls no backend, so it has no breaker unless ``breaker`` says so.
    """

    action: StrictStr = Field(validation_alias=AliasChoices("action", "action_type"))
    url: StrictStr | None = Field(default=None, validation_alias=AliasChoices("url", "webhook_url"))
    http_conn_id: StrictStr | None = None
    endpoint: StrictStr | None = None
    method: StrictStr | None = None
    headers: dict[HeaderName, HeaderValue] = {}
    params: dict[str, Any] = {}
    json_body: Any = Field(default=None, validation_alias="json")
    data: Any = None
    tool_name: StrictStr = "notify_webhook"
    payload: Any = None
    secret: StrictStr | None = None
    signature_header: StrictStr = "X-Webhook-Signature"
    include_inputs: StrictBool = True
    timeout: RequestTimeout | None = None
    pipeline: DagId | None = None
    conf: dict[str, Any] = {}
    wait: StrictBool = False
    poll_interval: float = Field(default=5.0, gt=0)

    @property
    def is_notification(self) -> bool:
        """A webhook notification, the one ``send_notification`` tool with a handler."""
        return self.action == "send_notification" and self.tool_name == "notify_webhook"

    @property
    def runs_pipeline(self) -> bool:
        """A nested pipeline: the action triggers another pipeline's DAG."""
        return self.action == "execute_pipeline"

    @property
    def has_handler(self) -> bool:
        """Whether running the action does more than record it."""
        return self.action == "call_api" or self.is_notification or self.runs_pipeline

    @property
    def passes_through(self) -> bool:
        """An action without a handler records its inputs."""
        return not self.has_handler

    @model_validator(mode="after")
    def _handler_inputs(self) -> ActionConfig:
        if self.runs_pipeline:
            if not self.pipeline:
                raise ValueError("execute_pipeline needs 'pipeline': the DAG id of the pipeline to run")
            if self.breaker is None:
                self.breaker = False
            return self
        if self.url and self.http_conn_id:
            raise ValueError("give either 'url' or 'http_conn_id' (with 'endpoint'), not both")
        if self.url:
            split_url(self.url)
        elif self.has_handler and not self.http_conn_id:
            raise ValueError(f"{self.action} needs 'url' (or 'http_conn_id' with 'endpoint')")
        return self


class ParallelConfig(NodeConfig):
    """Fan-out point; the editor records the branches, the edges define them."""

    parallel_nodes: list[Identifier] = []

    @property
    def passes_through(self) -> bool:
        """A parallel node passes its inputs on."""
        return True


class DelayConfig(NodeConfig):
    """A pause of ``seconds`` before the inputs are passed on."""

    seconds: DelaySeconds = Field(validation_alias=AliasChoices("seconds", "delay_seconds"))
    deferrable: StrictBool | None = None

    @property
    def passes_through(self) -> bool:
        """A delay passes its inputs on."""
        return True


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Identifier
    name: str = ""
    position: dict[str, float] | None = None
    next: list[Identifier] | None = None

    @property
    def label(self) -> str:
        """What the UI shows for this node."""
        return self.name or self.id


class TriggerNode(_Node):
    type: Literal["trigger"]
    config: TriggerConfig = TriggerConfig()


class AgentNode(_Node):
    type: Literal["agent"]
    config: AgentConfig


class ConditionNode(_Node):
    type: Literal["condition"]
    config: ConditionConfig


class ActionNode(_Node):
    type: Literal["action"]
    config: ActionConfig


class ParallelNode(_Node):
    type: Literal["parallel"]
    config: ParallelConfig = ParallelConfig()


class DelayNode(_Node):
    type: Literal["delay"]
    config: DelayConfig


Node = Annotated[
    TriggerNode | AgentNode | ConditionNode | ActionNode | ParallelNode | DelayNode,
    Field(discriminator="type"),
]
NODE_ADAPTER: TypeAdapter[Node] = TypeAdapter(Node)


class Edge(BaseModel):
    """A link between two nodes; ``condition`` is its label (``"true"``, ``"false"``, ``"high"``...)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: Identifier
    source: Identifier = Field(alias="from")
    target: Identifier = Field(alias="to")
    condition: Annotated[StrictStr | None, BeforeValidator(_label_text)] = None

    @property
    def label(self) -> str | None:
        """The routing label, ``None`` when absent or blank."""
        return self.condition.strip() if self.condition and self.condition.strip() else None


class PipelineBreaker(BaseModel):
    """Pipeline-wide circuit breaker settings (nodes may override them)."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: Threshold | None = None
    recovery_timeout: Duration | None = None


class NodeOutline(BaseModel):
    """A node read without its type-specific config: enough for graph checks on a file with bad nodes."""

    model_config = ConfigDict(extra="ignore")

    id: Identifier
    type: Any = None


class _PipelineFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | str | None = None
    name: str = ""
    description: str = ""
    status: Literal["active", "paused", "draft"] | None = None
    timeout_seconds: Duration | None = None
    max_retries_per_node: Attempts | None = None
    retry_backoff_base: Backoff | None = None
    retry_backoff_max: Backoff | None = None
    retry_backoff_jitter: Backoff | None = None
    breaker: PipelineBreaker = PipelineBreaker()
    task_retries: TaskRetries = 0
    task_retry_delay: Backoff = 300
    dag_id: StrictStr | None = None
    schedule: StrictStr | None = None
    tags: list[StrictStr] = []
    owner: StrictStr | None = None
    params: dict[str, Any] = {}
    edges: list[Edge] = []

    def graph(self) -> nx.MultiDiGraph:
        """One vertex per node id, one arc keyed by edge id per edge between known nodes, in file order."""
        graph = nx.MultiDiGraph()
        graph.add_nodes_from((node.id, {"node": node}) for node in self.nodes)  # type: ignore[attr-defined]
        graph.add_edges_from(
            (edge.source, edge.target, edge.id, {"edge": edge})
            for edge in self.edges
            if edge.source in graph and edge.target in graph
        )
        return graph


class PipelineOutline(_PipelineFields):
    """A pipeline whose nodes are only outlined; validation reads it before checking each node."""

    nodes: list[NodeOutline]


class Pipeline(_PipelineFields):
    """A pipeline with fully typed nodes, ready to compile."""

    nodes: list[Node]

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``."""
        return next(node for node in self.nodes if node.id == node_id)
