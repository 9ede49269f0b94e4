"""The orchestration API: on-demand generation, the HTTP batch channel, the runtime API (jobs,
flow instances, steps, delivery files, controls) and CXI e-mail events."""

from __future__ import annotations

import base64
import functools
import json
import logging
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

        Unconfirmed (reference §5): the batch channel's body. Colophon sends one envelope
        ``{externalId, communicationId, driverDataSource, records: [...]}`` (JSON), or for an
        XML sample ``<batch externalId=… communicationId=… driverDataSource=…>`` holding one
        sample-rooted element per record; the channel's flow model must read that shape."""
        domain = domain or settings.EXSTREAM_DOMAIN
        channel = channel or settings.EXSTREAM_BATCH_CHANNEL
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
            headers={"exstream-variable-externalId": external_id, "Content-Type": content_type},
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
        return BatchResult(
            job_id=instances[0].job_id,
            flow_instance_ids=[i.id for i in instances],
            external_id=external_id,
            domain=domain,
            channel=channel,
            flow_instances=[i.raw for i in instances],
        )

    # --- runtime --------------------------------------------------------------------------------

    def _runtime(self, domain: str | None) -> str:
        return f"/orchestration/api/v1/runtime/{domain or settings.EXSTREAM_DOMAIN}"

    def find_jobs_by_external_id(
        self, external_id: str, *, domain: str | None = None
    ) -> list[dict[str, Any]]:
        body = self.get_json(
            f"{self._runtime(domain)}/jobs",
            filter=f"externalId:{external_id}",
            offset=0,
            count=100,
        )
        return _parsed(lambda: [m.Job.parse(j).raw for j in m.items_of(body, "job list")])

    def get_job(self, job_id: str, *, domain: str | None = None) -> dict[str, Any]:
        body = self.get_json(f"{self._runtime(domain)}/jobs/{job_id}")
        data = body.get("data", body) if isinstance(body, dict) else body
        return _parsed(lambda: m.Job.parse(data).raw)

    def list_flow_instances(self, job_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(f"{self._runtime(domain)}/flow-instances", filter=f"jobId:{job_id}")
        return _parsed(
            lambda: [m.FlowInstance.parse(i).raw for i in m.items_of(body, "flow-instance list")]
        )

    def list_flow_steps(self, flow_instance_id: str, *, domain: str | None = None) -> list[dict]:
        body = self.get_json(
            f"{self._runtime(domain)}/flow-steps", filter=f"flowInstanceId:{flow_instance_id}"
        )
        return _parsed(
            lambda: [m.FlowStep.parse(i).raw for i in m.items_of(body, "flow-step list")]
        )

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
        """Every e-mail event whose lastUpdateTime is in [start, end), page by page."""
        domain = domain or settings.EXSTREAM_DOMAIN
        offset = 0
        while True:
            body = self.get_json(
                f"/ei/api/v1/eventmetrics/email-event/{tenant()}/{domain}/content",
                connectorType=connector_type,
                lastUpdateTimeStart=start_ms,
                lastUpdateTimeEnd=end_ms,
                offset=offset,
                count=page_size,
            )
            items: list[Any] = _parsed(functools.partial(m.items_of, body, "e-mail event list"))
            for item in items:
                try:
                    m.EmailEvent.parse(item)
                except m.ContractError as exc:
                    # never crash the puller: the event is logged and skipped
                    logger.warning("Skipping an e-mail event Colophon cannot read: %s", exc)
                    continue
                yield item
            offset += len(items)
            total = m.Page.parse(body).total_elements
            if not items or len(items) < page_size or (total is not None and offset >= total):
                return
