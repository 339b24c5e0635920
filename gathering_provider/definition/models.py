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


def field_keys(model: type[BaseModel], name: str) -> list[str]:
    """The keys that fill the field ``name`` of ``model``: its aliases (the one pydantic's schema names
    first), and its name when the model also validates by name."""
    field = model.model_fields[name]
    alias = field.validation_alias or field.alias
    if isinstance(alias, AliasChoices):
        keys = [choice for choice in alias.choices if isinstance(choice, str)]
    else:
        keys = [alias if isinstance(alias, str) else name]
    if model.model_config.get("validate_by_name") or model.model_config.get("populate_by_name"):
        keys.append(name)
    return list(dict.fromkeys(keys))


def _id_text(value: Any) -> Any:
    """Read numeric ids (the editor writes some) as text; leave everything else to validation."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Identifier = Annotated[StrictStr, BeforeValidator(_id_text, json_schema_input_type=str | int)]


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

    max_retries: Attempts | None = Field(
        default=None,
        description="Attempts per execution of this node, the first included (default: the pipeline's "
        "max_retries_per_node, else [gathering] max_retries).",
        examples=[3],
    )
    backoff_base: Backoff | None = Field(
        default=None,
        description="Multiplier of the exponential wait between attempts, in seconds (1, 2, 4 ... times it).",
        examples=[1.0],
    )
    backoff_max: Backoff | None = Field(
        default=None, description="Longest wait between two attempts, in seconds.", examples=[60]
    )
    backoff_jitter: Backoff | None = Field(
        default=None,
        description="Random extra wait added to each backoff, up to this many seconds.",
        examples=[0.5],
    )
    breaker: StrictBool | None = Field(
        default=None,
        description="Turn this node's circuit breaker on or off (on by default for agents and actions only).",
    )
    breaker_key: Annotated[str, StringConstraints(pattern=r"^[\w.-]+$", max_length=200)] | None = Field(
        default=None,
        description="Share one circuit breaker, the Variable gathering.breaker.<breaker_key>, among nodes "
        "that call the same resource (default: one breaker per node).",
        examples=["crm"],
    )
    failure_threshold: Threshold | None = Field(
        default=None,
        description="Failed executions (after their retries) that open the breaker.",
        examples=[5],
    )
    recovery_timeout: Duration | None = Field(
        default=None,
        description="Seconds an open breaker waits before it lets one probe through.",
        examples=[60],
    )

    @property
    def passes_through(self) -> bool:
        """Whether the node's output is its inputs passed on (stored as references to them)."""
        return False


class TriggerConfig(NodeConfig):
    """How a run starts: by hand, by webhook (REST API with conf), on a cron schedule or on an event."""

    trigger_type: Literal["manual", "webhook", "schedule", "event"] = Field(
        default="manual",
        description="manual or webhook: no schedule (a webhook is a run started through the REST API with "
        "its payload as conf); schedule: on cron; event: on the Airflow Asset named event.",
    )
    cron: StrictStr | None = Field(
        default=None, description="The cron expression of a schedule trigger.", examples=["0 6 * * 1-5"]
    )
    event: StrictStr | None = Field(
        default=None,
        description="The Airflow Asset whose events start an event trigger's runs.",
        examples=["orders.created"],
    )

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

    agent_id: int | StrictStr = Field(description="The agent that answers.", examples=[3, "writer"])
    task: StrictStr = Field(
        validation_alias=AliasChoices("task", "task_prompt"),
        description="What the agent is asked to do; the node's inputs are added as context.",
        examples=["Classify the ticket and extract the product area"],
    )
    agent_name: str | None = Field(
        default=None, description="The agent's name, for the output.", examples=["Triage"]
    )
    conn_id: NonEmpty | None = Field(
        default=None,
        description="The gathering connection of the server that runs the agent (default gathering_default).",
        examples=["gathering_default"],
    )
    include_memories: StrictBool = Field(
        default=True, description="Whether the gathering agent answers with its memories."
    )
    allow_tools: StrictBool = Field(
        default=True, description="Whether the gathering agent may call its tools."
    )
    llm_conn_id: NonEmpty | None = Field(
        default=None,
        description="A pydanticai connection: run the task as one LLM call instead of asking gathering.",
        examples=["llm"],
    )
    model: NonEmpty | None = Field(
        default=None,
        description="The LLM's model, with llm_conn_id (default: the connection's).",
        examples=["openai:gpt-5"],
    )
    system_prompt: StrictStr | None = Field(
        default=None,
        description="Instructions sent with the task, with llm_conn_id.",
        examples=["You answer support tickets in two sentences."],
    )

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
    """A condition: an expression (parsed by :mod:`gathering_provider.expressions`, never evaluated as
    code) whose result routes the outgoing edges."""

    condition: ConditionText = Field(
        description="An expression whose result routes the outgoing edges by their labels: literals, "
        "<node_id>.<path> and input.<path>, == != < <= > >= in, not in, and, or, not, parentheses.",
        examples=["n2.approved == true", "ticket.priority", "input.score >= 0.8 and not input.flagged"],
    )


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

    action: StrictStr = Field(
        validation_alias=AliasChoices("action", "action_type"),
        description="call_api, send_notification and execute_pipeline have handlers; any other word only "
        "records the step and passes the inputs on.",
        examples=["call_api", "send_notification", "execute_pipeline", "merge_pull_request"],
    )
    url: StrictStr | None = Field(
        default=None,
        validation_alias=AliasChoices("url", "webhook_url"),
        description="The absolute http(s) URL a call_api or a notification reaches, without credentials; its "
        "host must match [gathering] allowed_hosts.",
        examples=["https://hooks.example.com/notify"],
    )
    http_conn_id: StrictStr | None = Field(
        default=None,
        description="An Airflow HTTP connection to call instead of url: host, auth and headers stay in it.",
        examples=["crm_api"],
    )
    endpoint: StrictStr | None = Field(
        default=None, description="Path and query on http_conn_id's host.", examples=["/api/tickets"]
    )
    method: StrictStr | None = Field(
        default=None, description="The HTTP method of call_api (default GET).", examples=["GET", "POST"]
    )
    headers: dict[HeaderName, HeaderValue] = Field(
        default={}, description="Extra HTTP headers.", examples=[{"Accept": "application/json"}]
    )
    params: dict[str, Any] = Field(
        default={}, description="The query string of call_api.", examples=[{"page": 1}]
    )
    json_body: Any = Field(
        default=None,
        validation_alias="json",
        description="A body sent as JSON by call_api.",
        examples=[{"ticket": 42}],
    )
    data: Any = Field(default=None, description="A body sent as is (form fields or text) by call_api.")
    tool_name: StrictStr = Field(
        default="notify_webhook",
        description="The tool of send_notification; notify_webhook posts payload to the webhook.",
    )
    payload: Any = Field(
        default=None,
        description="What send_notification posts as JSON.",
        examples=[{"text": "Ticket escalated"}],
    )
    secret: StrictStr | None = Field(
        default=None,
        description="The HMAC-SHA256 key that signs a notification's body (better: the HTTP connection's "
        "password).",
    )
    signature_header: StrictStr = Field(
        default="X-Webhook-Signature",
        description="The header that carries a signed notification's sha256=<hex> signature.",
    )
    include_inputs: StrictBool = Field(
        default=True, description='Whether an object payload gets the node\'s inputs under "inputs".'
    )
    timeout: RequestTimeout | None = Field(
        default=None,
        description="Seconds the whole HTTP exchange may take (default [gathering] http_timeout).",
        examples=[30],
    )
    pipeline: DagId | None = Field(
        default=None,
        description="execute_pipeline: the DAG id of the pipeline to run.",
        examples=["incident_response"],
    )
    conf: dict[str, Any] = Field(
        default={},
        description="execute_pipeline: merged over the node's inputs into the run's conf.",
        examples=[{"severity": "high"}],
    )
    wait: StrictBool = Field(
        default=False, description="execute_pipeline: wait for the run to end, and fail when it fails."
    )
    poll_interval: float = Field(
        default=5.0,
        gt=0,
        description="execute_pipeline with wait: seconds between two checks of the run's state.",
    )

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

    parallel_nodes: list[Identifier] = Field(
        default=[], description="The branches as gathering's editor records them; the edges make the fan-out."
    )

    @property
    def passes_through(self) -> bool:
        """A parallel node passes its inputs on."""
        return True


class DelayConfig(NodeConfig):
    """A pause of ``seconds`` before the inputs are passed on."""

    seconds: DelaySeconds = Field(
        validation_alias=AliasChoices("seconds", "delay_seconds"),
        description="Seconds to wait.",
        examples=[5, 300],
    )
    deferrable: StrictBool | None = Field(
        default=None,
        description="Wait in Airflow's triggerer, freeing the worker slot (default [operators] "
        "default_deferrable).",
    )

    @property
    def passes_through(self) -> bool:
        """A delay passes its inputs on."""
        return True


NODE_TYPE = Field(description="The node's type, which decides its config.")
"""The metadata of each node class's ``type``, the field its union is discriminated on."""


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Identifier = Field(
        description="The node's id and Airflow task id: letters, digits, _, - and . (never renamed).",
        examples=["classify"],
    )
    name: str = Field(default="", description="Shown as the task's display name.", examples=["Classify"])
    position: dict[str, float] | None = Field(
        default=None, description="Where gathering's editor draws the node.", examples=[{"x": 50, "y": 100}]
    )
    next: list[Identifier] | None = Field(default=None, description="Editor data: the edges make the graph.")

    @property
    def label(self) -> str:
        """What the UI shows for this node."""
        return self.name or self.id


class TriggerNode(_Node):
    """A trigger: how a run starts; its output is the run's trigger data."""

    type: Annotated[Literal["trigger"], NODE_TYPE]
    config: TriggerConfig = TriggerConfig()


class AgentNode(_Node):
    """An agent: a gathering agent, or one LLM call, given a task and the node's inputs."""

    type: Annotated[Literal["agent"], NODE_TYPE]
    config: AgentConfig


class ConditionNode(_Node):
    """A condition: its result routes the outgoing edges by their labels."""

    type: Annotated[Literal["condition"], NODE_TYPE]
    config: ConditionConfig


class ActionNode(_Node):
    """An action: an HTTP call, a webhook notification, a nested pipeline or a recorded step."""

    type: Annotated[Literal["action"], NODE_TYPE]
    config: ActionConfig


class ParallelNode(_Node):
    """A fan-out point: its inputs pass on along every outgoing edge."""

    type: Annotated[Literal["parallel"], NODE_TYPE]
    config: ParallelConfig = ParallelConfig()


class DelayNode(_Node):
    """A pause, after which the inputs pass on."""

    type: Annotated[Literal["delay"], NODE_TYPE]
    config: DelayConfig


Node = Annotated[
    TriggerNode | AgentNode | ConditionNode | ActionNode | ParallelNode | DelayNode,
    Field(discriminator="type"),
]
NODE_ADAPTER: TypeAdapter[Node] = TypeAdapter(Node)


class Edge(BaseModel):
    """A link between two nodes; ``condition`` is its label (``"true"``, ``"false"``, ``"high"``...)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: Identifier = Field(description="The edge's id.", examples=["e1"])
    source: Identifier = Field(
        alias="from", description="The id of the node the edge leaves.", examples=["n1"]
    )
    target: Identifier = Field(
        alias="to", description="The id of the node the edge reaches.", examples=["n2"]
    )
    condition: Annotated[
        StrictStr | None, BeforeValidator(_label_text, json_schema_input_type=str | bool | None)
    ] = Field(
        default=None,
        description="The label of an edge leaving a condition node: true or false follow the result's truth, "
        "none a truthy result, any other label a result equal to it.",
        examples=["true", "false", "high"],
    )

    @property
    def label(self) -> str | None:
        """The routing label, ``None`` when absent or blank."""
        return self.condition.strip() if self.condition and self.condition.strip() else None


class PipelineBreaker(BaseModel):
    """Pipeline-wide circuit breaker settings (nodes may override them)."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: Threshold | None = Field(
        default=None,
        description="Failed executions that open a node's breaker (default [gathering] failure_threshold).",
        examples=[5],
    )
    recovery_timeout: Duration | None = Field(
        default=None,
        description="Seconds an open breaker waits before a probe (default [gathering] recovery_timeout).",
        examples=[60],
    )


class NodeOutline(BaseModel):
    """A node read without its type-specific config: enough for graph checks on a file with bad nodes."""

    model_config = ConfigDict(extra="ignore")

    id: Identifier
    type: Any = None


class _PipelineFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | str | None = Field(default=None, description="gathering's id of the pipeline.", examples=[12])
    name: str = Field(default="", description="The DAG's display name.", examples=["Code Review Workflow"])
    description: str = Field(
        default="",
        description="The DAG's docs, in Markdown; its first line is the DAG's description.",
        examples=["Two agents review a pull request; merge when both approve."],
    )
    status: Literal["active", "paused", "draft"] | None = Field(
        default=None,
        description="active (or none): loaded; paused: created paused; draft: validated, not loaded.",
    )
    timeout_seconds: Duration | None = Field(
        default=None, description="Seconds a run may take (the DAG's dagrun_timeout).", examples=[1800]
    )
    max_retries_per_node: Attempts | None = Field(
        default=None,
        description="Attempts per node execution, the first included, for nodes without max_retries "
        "(default [gathering] max_retries).",
        examples=[3],
    )
    retry_backoff_base: Backoff | None = Field(
        default=None,
        description="Multiplier of the exponential wait between attempts, in seconds, for nodes without "
        "backoff_base.",
        examples=[1.0],
    )
    retry_backoff_max: Backoff | None = Field(
        default=None,
        description="Longest wait between two attempts, in seconds, for nodes without backoff_max.",
        examples=[60],
    )
    retry_backoff_jitter: Backoff | None = Field(
        default=None,
        description="Random extra wait added to each backoff, up to this many seconds, for nodes without "
        "backoff_jitter.",
        examples=[0.5],
    )
    breaker: PipelineBreaker = Field(
        default=PipelineBreaker(), description="Circuit breaker settings for nodes that set none."
    )
    task_retries: TaskRetries = Field(
        default=0,
        description="Airflow-level tries after a task failed; each makes up to max_retries attempts.",
        examples=[2],
    )
    task_retry_delay: Backoff = Field(
        default=300, description="Seconds between two Airflow-level tries.", examples=[300]
    )
    dag_id: StrictStr | None = Field(
        default=None, description="The DAG id (default: the file name's stem).", examples=["code_review"]
    )
    schedule: StrictStr | None = Field(
        default=None,
        description="A cron expression or preset (@daily, @once, @continuous); overrides the trigger node.",
        examples=["@daily", "0 6 * * 1-5"],
    )
    tags: list[StrictStr] = Field(
        default=[], description="DAG tags; gathering is always added.", examples=[["support"]]
    )
    owner: StrictStr | None = Field(
        default=None,
        description="The owner of the DAG's tasks (default gathering).",
        examples=["support-team"],
    )
    params: dict[str, Any] = Field(
        default={},
        description="Run parameters shown in the trigger form: an object with type, enum, default, "
        "description... is a typed field (required without default), any other value a plain default.",
        examples=[{"priority": {"type": "string", "enum": ["high", "low"], "default": "high"}, "limit": 20}],
    )
    edges: list[Edge] = Field(default=[], description="The links between nodes.")

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

    nodes: list[Node] = Field(
        description="The pipeline's nodes, at least one.", json_schema_extra={"minItems": 1}
    )

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``."""
        return next(node for node in self.nodes if node.id == node_id)
