"""The orchestration API: on-demand generation, the HTTP batch channel, the runtime API (jobs,
flow instances, steps, delivery files, controls) and CXI e-mail events."""

from __future__ import annotations

import base64
import datetime
import functools
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element, tostring

import requests
from django.conf import settings

from integration.connectors.exstream import models as m
from integration.connectors.exstream.base import (
    SERVICE,
    BatchResult,
    GeneratedOutput,
    Transport,
    _json,
    _parsed,
    tenant,
)
from integration.connectors.exstream.driver import (
    JSON,
    XML,
    EncodedRecord,
    encode_driver,
    nest,
    xml_record,
)
from integration.lib.http import ExternalServiceError

logger = logging.getLogger(__name__)


def _require_driver_data_source(prod_dsn: str, communication_id: str) -> None:
    """Nothing goes to an input without its ``driverDataSource`` (reference §3, §4): a design
    whose manifest named no driver data source is refused here, not sent with an empty one."""
    if not prod_dsn:
        raise ExternalServiceError(
            f"The Exstream communication {communication_id!r} has no driver data source "
            "(prodDsn) in Colophon's catalogue; sync the catalogue once its manifest names one.",
            service=SERVICE,
            retryable=False,
        )


class OrchestrationApi(Transport):
    # --- on-demand generation -----------------------------------------------------------------

    def _generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        accept: str,
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> requests.Response:
        _require_driver_data_source(driver_data_source, communication_id)
        body, content_type = encode_driver(driver_data, format=driver_format, root=driver_root)
        return self.call(
            "POST",
            f"/orchestration/api/v1/inputs/ondemand/{domain}/generate",
            headers={
                "communicationId": communication_id,
                "driverDataSource": driver_data_source,
                "Content-Type": content_type,
                "Accept": accept,
            },
            data=body,
        )

    def generate(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> list[GeneratedOutput]:
        """The JSON envelope: one base64 output per queue. ``driver_data`` may be flat (dotted
        keys) or nested; it is sent shaped like the sample (nested JSON, or XML)."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="*/*",
            driver_format=driver_format,
            driver_root=driver_root,
        )
        body = _json(response)
        items = _parsed(
            lambda: [m.EngineOutput.parse(i) for i in m.items_of(body, "generate response")]
        )
        errors = [i for i in items if i.error_message]
        if errors:
            raise ExternalServiceError(
                "Exstream engine error: " + "; ".join(i.error_message for i in errors),
                service=SERVICE,
                retryable=False,
                details=[i.raw for i in errors],
            )
        outputs = []
        for item in items:
            try:
                content = base64.b64decode(item.content, validate=False)
            except ValueError as exc:
                raise ExternalServiceError(
                    f"Exstream returned an output that is not base64 ({exc}).",
                    service=SERVICE,
                    retryable=False,
                ) from exc
            outputs.append(
                GeneratedOutput(
                    content=content,
                    mime_type=item.mime_type,
                    queue_name=item.queue_name,
                    file_name=item.file_name,
                    customer_number=item.customer_number,
                )
            )
        return outputs

    def generate_pdf(
        self,
        *,
        domain: str,
        communication_id: str,
        driver_data_source: str,
        driver_data: dict[str, Any],
        driver_format: str = JSON,
        driver_root: str = "",
    ) -> bytes:
        """Raw PDF bytes (Accept: application/pdf)."""
        response = self._generate(
            domain=domain,
            communication_id=communication_id,
            driver_data_source=driver_data_source,
            driver_data=driver_data,
            accept="application/pdf",
            driver_format=driver_format,
            driver_root=driver_root,
        )
        if not response.content.startswith(b"%PDF"):
            raise ExternalServiceError(
                "Exstream answered a PDF request with something that is not a PDF.",
                service=SERVICE,
                retryable=False,
            )
        return response.content

    # --- batch channel ------------------------------------------------------------------------

    def submit_batch(
        self,
        *,
        external_id: str,
        communication: Any,
        records: Sequence[Mapping[str, Any]],
        domain: str | None = None,
        channel: str | None = None,
    ) -> BatchResult:
        """POST the records to the HTTP batch channel. ``communication`` is an
        ``ExstreamCommunication``; each record already carries Colophon's message key at the
        design's customer-key field, and is sent shaped like the driver sample (nested JSON,
        or XML). The external id travels as ``exstream-variable-externalId`` and in the body,
        so ``find_jobs_by_external_id`` can tell after a timeout whether the batch exists.

        The ``driverDataSource`` header carries the communication's ``prodDsn`` (§3), as on
        ``generate``; Exstream refusing it (a 4xx) is not retried.

        Unconfirmed (reference §5): the batch channel's body. Colophon sends one envelope
        ``{externalId, communicationId, driverDataSource, records: [...]}`` (JSON), or for an
        XML sample ``<batch externalId=… communicationId=… driverDataSource=…>`` holding one
        sample-rooted element per record; the channel's flow model must read that shape."""
        domain = domain or settings.EXSTREAM_DOMAIN
        channel = channel or settings.EXSTREAM_BATCH_CHANNEL
        _require_driver_data_source(communication.prod_dsn, communication.communication_id)
        driver_format = getattr(communication, "driver_format", JSON) or JSON
        if driver_format == XML:
            root = Element(
                "batch",
                externalId=external_id,
                communicationId=communication.communication_id,
                driverDataSource=communication.prod_dsn,
            )
            for record in records:
                root.append(xml_record(dict(record), getattr(communication, "driver_root", "")))
            data = tostring(root, encoding="utf-8", xml_declaration=True)
            content_type = "application/xml"
        else:
            envelope = json.dumps(
                {
                    "externalId": external_id,
                    "communicationId": communication.communication_id,
                    "driverDataSource": communication.prod_dsn,
                }
            )
            # A record whose stored text already is the wire form goes as it is.
            encoded = ",".join(
                r.wire
                if isinstance(r, EncodedRecord) and r.wire is not None
                else json.dumps(nest(dict(r)))
                for r in records
            )
            data = (envelope[:-1] + ', "records": [' + encoded + "]}").encode()
            content_type = "application/json"
        response = self.call(
            "POST",
            f"/orchestration/api/v1/inputs/batch/{domain}/{channel}",
            xsrf=True,
            # §3: the prodDsn is the value of the driverDataSource header. §5 documents no
            # headers for the batch channel, so it goes both as that header and in the body.
            headers={
                "exstream-variable-externalId": external_id,
                "driverDataSource": communication.prod_dsn,
                "Content-Type": content_type,
            },
            data=data,
            retries=0,  # never resubmit blindly: ask find_jobs_by_external_id first
        )
        body_json = _json(response)
        instances = _parsed(
            lambda: [m.FlowInstance.parse(i) for i in m.items_of(body_json, "batch response")]
        )
        if not instances:
            raise ExternalServiceError(
                "Exstream accepted the batch but started no flow instance.",
                service=SERVICE,
                retryable=False,
            )
        # The batch answer is known from client code only (§5): a flow instance without its
        # jobId is completed from the runtime API (``flow-instances/{id}``, §6).
        job_id = next((i.job_id for i in instances if i.job_id), "") or self._job_of(
            instances[0].id, domain
        )
        return BatchResult(
            job_id=job_id,
            flow_instance_ids=[i.id for i in instances],
            external_id=external_id,
            domain=domain,
            channel=channel,
            flow_instances=[i.raw for i in instances],
        )

    # --- runtime --------------------------------------------------------------------------------

    def _job_of(self, flow_instance_id: str, domain: str) -> str:
        body = self.get_json(f"{self._runtime(domain)}/flow-instances/{flow_instance_id}")
        data = body.get("data", body) if isinstance(body, dict) else body
        job_id = _parsed(lambda: m.FlowInstance.parse(data)).job_id
        if not job_id:
            raise ExternalServiceError(
                f"Exstream accepted the batch (flow instance {flow_instance_id}) but names no job "
                "id for it; the next attempt asks Exstream for the batch before sending again.",
                service=SERVICE,
                retryable=True,
            )
        return job_id

    def _runtime(self, domain: str | None) -> str:
        return f"/orchestration/api/v1/runtime/{domain or settings.EXSTREAM_DOMAIN}"

    def find_jobs_by_external_id(
        self,
        external_id: str,
        *,
        domain: str | None = None,
        channel: str | None = None,
        since: datetime.date | None = None,
    ) -> list[dict[str, Any]]:
        """The jobs whose ``externalId`` is ``external_id``.

        Reference §10: jobs are filterable by ``externalId``, but whether a channel submission
        sets it is unconfirmed (the §5 batch sample shows ``"externalId": null``). So when no job
        carries it and ``channel`` is given, the channel's jobs (started since ``since``, a
        documented filter, §6) are searched by their input instead: ``submit_batch`` puts the
        external id in the body, read back from ``flow-instances/{id}/input`` (§6)."""
        runtime = self._runtime(domain)
        items = self.listed(f"{runtime}/jobs", "job list", filter=f"externalId:{external_id}")
        jobs: list[dict[str, Any]] = _parsed(lambda: [m.Job.parse(j).raw for j in items])
        if jobs or not channel:
            return jobs
        # The body's own externalId (JSON member or XML attribute), exactly: not a longer id
        # that merely contains this one.
        wanted = re.compile(
            rb"""externalId["']?\s*[:=]\s*["']""" + re.escape(external_id.encode()) + rb"""["']"""
        )
        scope = f"channel:{channel}" + (f";startDateStart:{since:%Y-%m-%d}" if since else "")
        on_channel = self.listed(f"{runtime}/jobs", "job list", filter=scope)
        for job in _parsed(lambda: [m.Job.parse(j) for j in on_channel]):
            if job.external_id and job.external_id != external_id:
                continue  # the server does set externalId: this job is another batch
            for instance in self.list_flow_instances(job.id, domain=domain):
                if instance.get("inputRetrievable") is False:
                    continue
                path = f"{runtime}/flow-instances/{instance['id']}/input"
                if wanted.search(self.call("GET", path).content):
                    return [job.raw]
        return []

    def get_job(self, job_id: str, *, domain: str | None = None) -> dict[str, Any]:
        body = self.get_json(f"{self._runtime(domain)}/jobs/{job_id}")
        data = body.get("data", body) if isinstance(body, dict) else body
        return _parsed(lambda: m.Job.parse(data).raw)

    def list_flow_instances(self, job_id: str, *, domain: str | None = None) -> list[dict]:
        """Every flow instance of the job, to the last page (``Transport.listed``)."""
        items = self.listed(
            f"{self._runtime(domain)}/flow-instances",
            "flow-instance list",
            filter=f"jobId:{job_id}",
        )
        return _parsed(lambda: [m.FlowInstance.parse(i).raw for i in items])

    def list_flow_steps(self, flow_instance_id: str, *, domain: str | None = None) -> list[dict]:
        """Every step of the flow instance, to the last page (``Transport.listed``)."""
        # ``checkArtifacts`` (an operation parameter, §6; its meaning is not documented) is
        # asked so a server that fills ``deliveryFileRetrievable`` only on request does so.
        items = self.listed(
            f"{self._runtime(domain)}/flow-steps",
            "flow-step list",
            filter=f"flowInstanceId:{flow_instance_id}",
            checkArtifacts="true",
        )
        return _parsed(lambda: [m.FlowStep.parse(i).raw for i in items])

    def delivery_file(self, step_id: str, *, domain: str | None = None) -> bytes:
        response = self.call(
            "GET",
            f"{self._runtime(domain)}/flow-steps/{step_id}/delivery-file",
            params={"download": "true"},
        )
        return response.content

    def _control(self, path: str, **params: Any) -> str:
        response = self.call("POST", path, params=params or None, retries=0)
        try:
            body = response.json()
        except ValueError:
            return response.text
        return str(body.get("message", "")) if isinstance(body, dict) else str(body)

    def stop_job(self, job_id: str, *, domain: str | None = None) -> str:
        return self._control(f"{self._runtime(domain)}/jobs/{job_id}/stop")

    def reprocess_job(self, job_id: str, *, domain: str | None = None) -> str:
        return self._control(
            f"{self._runtime(domain)}/jobs/{job_id}/reprocessing",
            useCurrentFlowModel="true",
            useCurrentFlowContext="false",
        )

    def release_step(self, step_id: str, *, domain: str | None = None) -> str:
        return self._control(f"{self._runtime(domain)}/flow-steps/{step_id}/release")

    # --- CXI e-mail events ----------------------------------------------------------------------

    def email_events(
        self,
        *,
        start_ms: int,
        end_ms: int,
        domain: str | None = None,
        connector_type: str = "EMAIL",
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every e-mail event whose lastUpdateTime is in [start, end).

        Reference §7 documents ``connectorType``, ``lastUpdateTimeStart`` and
        ``lastUpdateTimeEnd`` and a ``{status, data}`` answer: the whole window at once, no
        paging parameters. Only those three are sent. The reference is silent on the time
        format: ISO 8601 date-times with an offset are sent (what the origin spec,
        ``exstream-cxi-integration-v1.json`` named in ``exstream-openapi/README.md``, declares),
        and a refusal of them (400, 422, 500) is asked once more with epoch milliseconds. A
        server that does page (its answer carries a ``page`` envelope whose ``totalElements``
        says there is more) is followed with ``offset``/``count`` (``page_size``), as on the
        runtime lists; one that answers the same page whatever the offset is read once."""
        domain = domain or settings.EXSTREAM_DOMAIN
        path = f"/ei/api/v1/eventmetrics/email-event/{tenant()}/{domain}/content"
        window: dict[str, Any] = {
            "connectorType": connector_type,
            "lastUpdateTimeStart": _iso_ms(start_ms),
            "lastUpdateTimeEnd": _iso_ms(end_ms),
        }
        try:
            body = self.get_json(path, **window)
        except ExternalServiceError as exc:
            # Refused (400, 422, or a 500 from a server that cannot parse them): the other
            # reading. Not for answers about access or load, nor when nothing answered.
            if exc.status in (None, 401, 403, 404, 429, 502, 503, 504):
                raise
            window.update(lastUpdateTimeStart=start_ms, lastUpdateTimeEnd=end_ms)
            body = self.get_json(path, **window)
        first: list[Any] = _parsed(functools.partial(m.items_of, body, "e-mail event list"))
        items, read = first, 0
        while items:
            yield from _readable_events(items)
            read += len(items)
            total = m.Page.parse(body).total_elements
            if total is None or read >= total:
                return
            body = self.get_json(path, **window, offset=read, count=page_size)
            items = _parsed(functools.partial(m.items_of, body, "e-mail event list"))
            if items == first:
                return


def _iso_ms(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds")


def _readable_events(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        try:
            m.EmailEvent.parse(item)
        except m.ContractError as exc:
            # never crash the puller: the event is logged and skipped
            logger.warning("Skipping an e-mail event Colophon cannot read: %s", exc)
            continue
        yield item
