"""Typed models of the documented Exstream objects.

Sources: ``../shared/reference/exstream-api.md`` (Appendix A for DAS objects, §1 tokens, §4
generation, §5 batch, §6 runtime, §7 CXI e-mail events) and the OpenAPI copies in
``../shared/reference/exstream-openapi/`` (``Job``, ``FlowInstance``, ``FlowStep``,
``SimplePage``, ``GenericResponse``).

Rules every model follows:

* extra fields are accepted and kept (``raw``), never an error: the SDK says "not every property
  is included";
* a missing *required* field raises ``ContractError`` naming the object, the field and what was
  received, so a worker log says exactly which contract point the server broke;
* enum-like fields (job/flow/step status, step type, mode, domain workflow) are plain strings;
  an unknown value is stored as received and ``*_known`` says whether we recognise it. An
  unknown status never crashes a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ContractError(ValueError):
    """An Exstream response lacks a field the documented contract requires."""


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractError(f"Exstream {what}: expected a JSON object, got {type(value).__name__}.")
    return value


def _req(data: dict[str, Any], name: str, what: str) -> Any:
    value = data.get(name)
    if value is None or value == "":
        keys = ", ".join(sorted(data)) or "nothing"
        raise ContractError(
            f"Exstream {what} is missing the required field '{name}' (it had: {keys})."
        )
    return value


def _str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value)


def _int(data: dict[str, Any], name: str) -> int | None:
    try:
        return int(data[name]) if data.get(name) not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def items_of(body: Any, what: str) -> list[Any]:
    """The ``data`` list of a ``{status, data: [...]}`` envelope (a bare list is tolerated)."""
    if isinstance(body, list):
        return body
    data = _obj(body, what).get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise ContractError(f"Exstream {what}: 'data' should be a list, got {type(data).__name__}.")
    return data


# --- enums (documented values, §6) ----------------------------------------------------------------

JOB_STATUSES = frozenset(
    {"uninitialized", "started", "waiting", "holding", "complete", "error", "canceled", "deleted"}
)
FLOW_INSTANCE_STATUSES = frozenset(
    {"started", "waiting", "holding", "finishing", "complete", "error", "canceled"}
)
FLOW_STEP_STATUSES = frozenset(
    {
        "created",
        "waiting",
        "holding",
        "started",
        "executed",
        "filtered",
        "complete",
        "error",
        "expired",
        "canceled",
    }
)
STEP_TYPES = frozenset(
    {
        "input",
        "communication",
        "output",
        "decider",
        "processor",
        "aggregator",
        "delay",
        "hold",
        "externalFlow",
    }
)
JOB_MODES = frozenset({"BATCH", "ONDEMAND"})
FLOW_MODEL_TYPES = frozenset({"COMMUNICATION", "ALERT", "NOTIFICATION"})
DOMAIN_WORKFLOWS = frozenset({"NORMAL", "SIMPLE", "ADVANCED"})


# --- OTDS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: float
    token_type: str = ""
    refresh_token: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, body: Any) -> TokenResponse:
        data = _obj(body, "OTDS token response")
        try:
            expires = float(data.get("expires_in") or 900)
        except (TypeError, ValueError):
            expires = 900.0
        return cls(
            access_token=str(_req(data, "access_token", "OTDS token response")),
            expires_in=expires,
            token_type=_str(data, "token_type"),
            refresh_token=_str(data, "refresh_token"),
            raw=data,
        )


# --- DAS (Appendix A, §8) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    id: str
    production: bool | None  # None: the server did not say
    description: str = ""
    workflow: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> Domain:
        data = _obj(item, "domain")
        return cls(
            id=str(_req(data, "id", "domain")),
            production=_bool(data, "production"),
            description=_str(data, "description"),
            workflow=_str(data, "workflow"),
            raw=data,
        )

    @property
    def workflow_known(self) -> bool:
        return not self.workflow or self.workflow in DOMAIN_WORKFLOWS


@dataclass(frozen=True)
class ResourceVersion:
    id: str
    version: int | None
    name: str
    type: str
    state: str
    subtype: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> ResourceVersion:
        data = _obj(item, "resource")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        return cls(
            id=str(_req(data, "id", "resource")),
            version=_int(data, "version"),
            name=_str(data, "name"),
            type=_str(data, "type"),
            state=_str(data, "state"),
            subtype=_str(metadata or {}, "subtype"),
            raw=data,
        )


@dataclass(frozen=True)
class Link:
    """A DAS link: subject (versioned) → object (not versioned), ``typeId`` = the object's
    resource type."""

    link_subject_id: str
    link_object_id: str
    type_id: str
    subject_version: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> Link:
        data = _obj(item, "link")
        return cls(
            link_subject_id=str(_req(data, "linkSubjectId", "link")),
            link_object_id=str(_req(data, "linkObjectId", "link")),
            type_id=str(_req(data, "typeId", "link")),
            subject_version=_int(data, "subjectVersion"),
            raw=data,
        )


@dataclass(frozen=True)
class DataSource:
    name: str
    prod_dsn: str
    resource_id: str = ""
    type: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> DataSource:
        data = _obj(item, "data source (dsnlist entry)")
        return cls(
            name=_str(data, "name"),
            prod_dsn=str(_req(data, "prodDsn", "data source (dsnlist entry)")),
            resource_id=_str(data, "resourceId"),
            type=_str(data, "type"),
            raw=data,
        )

    @property
    def is_driver(self) -> bool:
        return self.type.strip().lower() == "driver"


@dataclass(frozen=True)
class Queue:
    name: str
    driver: str = ""
    prod_file: str = ""
    use: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> Queue:
        data = _obj(item, "queue (queueList entry)")
        return cls(
            name=str(_req(data, "name", "queue (queueList entry)")),
            driver=_str(data, "driver"),
            prod_file=_str(data, "prodFile"),
            use=_str(data, "use"),
            raw=data,
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "driver": self.driver,
            "prodFile": self.prod_file,
            "use": self.use,
        }


class NoDriverDataSource(ContractError):
    """The manifest lists no data source of type ``driver``."""


@dataclass(frozen=True)
class Manifest:
    dsnlist: list[DataSource]
    queue_list: list[Queue]
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, body: Any) -> Manifest:
        data = _obj(body, "communication-set manifest")
        # Tolerated: the manifest bare, or inside a {status, data} envelope.
        if isinstance(data.get("data"), dict):
            data = data["data"]
        return cls(
            dsnlist=[DataSource.parse(d) for d in data.get("dsnlist") or []],
            queue_list=[Queue.parse(q) for q in data.get("queueList") or []],
            raw=data,
        )

    def driver(self) -> DataSource:
        """The data source whose ``type`` is ``driver`` (reference data sources are never the
        driver). With exactly one entry and no type at all we take it (the type is then
        simply absent, not contradicting); otherwise a clear error."""
        drivers = [d for d in self.dsnlist if d.is_driver]
        if drivers:
            return drivers[0]
        if len(self.dsnlist) == 1 and not self.dsnlist[0].type:
            return self.dsnlist[0]
        types = ", ".join(f"{d.name or d.prod_dsn} ({d.type or 'no type'})" for d in self.dsnlist)
        raise NoDriverDataSource(
            "The communication-set manifest lists no data source of type 'driver'"
            + (f" (it lists {types})." if types else " (its dsnlist is empty).")
        )


# --- orchestration (§4, §5, §6) -------------------------------------------------------------------


@dataclass(frozen=True)
class EngineOutput:
    content: str  # base64
    mime_type: str
    queue_name: str = ""
    file_name: str = ""
    customer_number: str = ""
    error_message: str = ""
    status_code: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> EngineOutput:
        data = _obj(item, "generate output item")
        context = data.get("engineOutputContext")
        context = context if isinstance(context, dict) else {}
        if "errorMessage" in data:
            return cls(
                content="",
                mime_type="",
                error_message=_str(data, "errorMessage"),
                status_code=_str(data, "statusCode"),
                queue_name=_str(context, "queueName"),
                customer_number=_str(context, "customerNumber"),
                raw=data,
            )
        if "content" not in data:
            _req(data, "content", "generate output item")
        return cls(
            content=_str(data, "content"),
            mime_type=_str(data, "mimeType") or "application/octet-stream",
            queue_name=_str(context, "queueName"),
            file_name=_str(context, "fileName"),
            customer_number=_str(context, "customerNumber"),
            raw=data,
        )


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    domain_id: str = ""
    channel: str = ""
    mode: str = ""
    external_id: str = ""
    msg: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> Job:
        data = _obj(item, "job")
        return cls(
            id=str(_req(data, "id", "job")),
            status=_str(data, "status"),
            domain_id=_str(data, "domainId"),
            channel=_str(data, "channel"),
            mode=_str(data, "mode"),
            external_id=_str(data, "externalId"),
            msg=_str(data, "msg"),
            raw=data,
        )

    @property
    def status_known(self) -> bool:
        return self.status in JOB_STATUSES


@dataclass(frozen=True)
class FlowInstance:
    id: str
    job_id: str
    status: str
    external_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> FlowInstance:
        data = _obj(item, "flow instance")
        return cls(
            id=str(_req(data, "id", "flow instance")),
            job_id=_str(data, "jobId"),
            status=_str(data, "status"),
            external_id=_str(data, "externalId"),
            raw=data,
        )

    @property
    def status_known(self) -> bool:
        return self.status in FLOW_INSTANCE_STATUSES


@dataclass(frozen=True)
class FlowStep:
    id: str
    flow_instance_id: str
    status: str
    step_type: str = ""
    step_name: str = ""
    delivery_file_retrievable: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> FlowStep:
        data = _obj(item, "flow step")
        return cls(
            id=str(_req(data, "id", "flow step")),
            flow_instance_id=_str(data, "flowInstanceId"),
            status=_str(data, "status"),
            step_type=_str(data, "stepType"),
            step_name=_str(data, "stepName"),
            delivery_file_retrievable=bool(_bool(data, "deliveryFileRetrievable")),
            raw=data,
        )

    @property
    def status_known(self) -> bool:
        return self.status in FLOW_STEP_STATUSES


@dataclass(frozen=True)
class Page:
    total_elements: int | None = None
    page_size: int | None = None

    @classmethod
    def parse(cls, body: Any) -> Page:
        page = body.get("page") if isinstance(body, dict) else None
        if not isinstance(page, dict):
            return cls()
        return cls(total_elements=_int(page, "totalElements"), page_size=_int(page, "pageSize"))


# --- CXI (§7) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailEvent:
    event_id: str
    event_type: str
    cust_metadata_id: str = ""
    event_status: str = ""
    event_date: Any = None
    last_update_time: Any = None
    job_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, item: Any) -> EmailEvent:
        data = _obj(item, "e-mail event")
        return cls(
            event_id=str(_req(data, "eventId", "e-mail event")),
            event_type=_str(data, "eventType"),
            cust_metadata_id=_str(data, "custMetadataId"),
            event_status=_str(data, "eventStatus"),
            event_date=data.get("eventDate"),
            last_update_time=data.get("lastUpdateTime"),
            job_id=_str(data, "jobId"),
            raw=data,
        )
