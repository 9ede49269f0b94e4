from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import Imprint, User


class AuthedRequest(HttpRequest):
    """The request as our middleware leaves it, for type checking views."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
    imprint: Imprint | None
