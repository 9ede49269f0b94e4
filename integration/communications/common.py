"""Shared by the communication services: the status alias, what counts as a person acting,
the drafter check and canonical JSON."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied

from accounts import policy
from accounts.types import Actor, person
from integration.models import (
    Communication,
)

logger = logging.getLogger(__name__)


S = Communication.Status


SUBJECT_TYPE = "integration.communication"


def dispatch_chunk_size() -> int:
    return max(1, int(settings.COMMUNICATION_DISPATCH_CHUNK))


# One encoder, built once: ``json.dumps`` with these options builds a new one per call, which
# composing pays per recipient. Encoding holds no state, so sharing it is safe.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode


def canonical_json(value: Any) -> str:
    return _CANONICAL(value)


def require_drafter(actor: Actor, communication: Communication) -> None:
    if person(actor) is None:
        return
    category = communication.category
    if not policy.can_draft(actor, category, communication):
        raise PermissionDenied(
            f"Only someone who drafts {category.replace('_', ' ')} communications in this "
            "imprint may do this."
        )
