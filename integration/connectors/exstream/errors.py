"""Exstream's two error envelopes (and OTDS's OAuth error) turned into readable messages.

* engine: ``{"status": "error", "data": [{"errorMessage", "statusCode", "engineOutputContext"}]}``
* Spring-style service: ``{"timestamp", "status", "message", "error", "details", "errorCode",
  "path"}``; a 422 carries ``details`` naming each missing driver field.
"""

from __future__ import annotations

import json
from typing import Any

from integration.lib.http import ExternalServiceError


def _parse(body: str) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def is_token_failure(exc: ExternalServiceError) -> bool:
    """401, or a 500 whose details mention OTDS (how an expired token can surface)."""
    if exc.status == 401:
        return True
    return exc.status == 500 and "otds" in exc.body.lower()


def _field_names(details: Any) -> list[str]:
    names = []
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and item.get("field"):
                prefix = f"record {item['record']}: " if "record" in item else ""
                names.append(f"{prefix}{item['field']}")
            elif isinstance(item, str):
                names.append(item)
    return names


def readable_error(exc: ExternalServiceError) -> ExternalServiceError:
    """A copy of ``exc`` whose message says what Exstream said, with structured details."""
    body = _parse(exc.body)
    message = exc.message
    details: Any = exc.details
    retryable = exc.retryable
    if (
        isinstance(body, dict)
        and isinstance(body.get("data"), list)
        and any(isinstance(i, dict) and "errorMessage" in i for i in body["data"])
    ):
        errors = [i for i in body["data"] if isinstance(i, dict) and "errorMessage" in i]
        message = f"{exc.message} Exstream engine error: " + "; ".join(
            str(i["errorMessage"]) for i in errors
        )
        details = errors
    elif isinstance(body, dict) and "message" in body and "status" in body:
        details = body.get("details")
        fields = _field_names(details)
        if exc.status == 422 and fields:
            message = (
                f"{exc.message} Exstream rejected the driver data; missing required field(s): "
                + ", ".join(fields)
                + "."
            )
            retryable = False
        else:
            extra = f" ({details})" if isinstance(details, str) and details else ""
            code = f" [{body['errorCode']}]" if body.get("errorCode") else ""
            message = f"{exc.message} Exstream said: {body.get('message')}{extra}{code}"
    elif isinstance(body, dict) and "error" in body and "error_description" in body:
        message = f"{exc.message} OTDS said: {body['error']}: {body['error_description']}"
        details = {"error": body["error"]}
    if exc.status == 422:
        retryable = False
    return ExternalServiceError(
        message,
        service=exc.service,
        retryable=retryable,
        status=exc.status,
        body=exc.body,
        details=details,
        retry_after=exc.retry_after,
    )
