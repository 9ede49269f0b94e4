"""Masking of secrets in audit data and log records. Imports nothing from Django models, so the
logging configuration can use it before apps are ready."""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "•••"
_SECRET_KEY_RE = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|signature|credential|whsec)",
    re.IGNORECASE,
)
_SECRET_VALUE_RES = [
    re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*"),
    re.compile(r"(?i)token token=[^\s,;]+"),
    re.compile(r"(?i)(client_secret|api_key|password|access_token)=([^&\s]+)"),
]


def mask_text(text: str) -> str:
    for rx in _SECRET_VALUE_RES:
        if rx.groups >= 2:
            text = rx.sub(lambda m: f"{m.group(1)}={MASK}", text)
        else:
            text = rx.sub(MASK, text)
    return text


def mask(value: Any, key: str = "") -> Any:
    """Return ``value`` with secrets masked, recursively through dicts and lists."""
    if key and _SECRET_KEY_RE.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {str(k): mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return mask_text(str(value))


class SecretMaskingFilter(logging.Filter):
    """Masks secrets in log records before any handler writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        masked = mask_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
