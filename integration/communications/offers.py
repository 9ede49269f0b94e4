"""An offer's validity: a communication carrying offer data (a promotion code, an offer price)
is never submitted, approved or sent after the offer has expired.

The offer is Colophon's own data (``Communication.offer``, entered by the drafter), not a vendor
field: ``valid_from`` and ``valid_until`` are ISO dates (``YYYY-MM-DD``), both optional.
``offer_refusal`` is checked at submit (``grant.submit_refusal``), at approval
(``approval.approve_refusal``) and before each chunk is sent (``dispatch``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

VALIDITY_KEYS = ("valid_from", "valid_until")


def _as_date(value: Any, key: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(
            {"offer": [f"The offer's {key} {value!r} is not a date; write it as YYYY-MM-DD."]}
        ) from None


def offer_dates(offer: Any) -> tuple[datetime.date | None, datetime.date | None]:
    """(valid_from, valid_until) of an offer; ValidationError when one is not a date or the
    offer ends before it starts."""
    if not isinstance(offer, dict):
        return None, None
    start = _as_date(offer.get("valid_from"), "valid_from")
    end = _as_date(offer.get("valid_until"), "valid_until")
    if start and end and end < start:
        raise ValidationError({"offer": ["The offer ends (valid_until) before it starts."]})
    return start, end


def offer_problems(offer: Any) -> list[str]:
    """What is wrong with an offer's dates as entered (for the create form and the API)."""
    try:
        offer_dates(offer)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def offer_refusal(offer: Any, *, today: datetime.date | None = None) -> str | None:
    """Why a communication with this offer may not go ahead today (None when it may)."""
    try:
        _start, end = offer_dates(offer)
    except ValidationError as exc:
        return " ".join(exc.messages)
    today = today or timezone.localdate()
    if end is not None and today > end:
        return (
            f"The offer expired on {end.isoformat()} (valid until that day); nothing is sent "
            "after an offer expires. Draft it again with a current offer."
        )
    return None
