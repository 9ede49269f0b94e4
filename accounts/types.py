from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from accounts.models import Imprint, User


class AuthedRequest(HttpRequest):
    """The request as our middleware leaves it, for type checking views."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
    imprint: Imprint | None


# Who did something: a signed-in person, a named system actor ("trigger:12",
# "schedule:exstream-catalogue", "sandbox"), or None for Colophon itself.
Actor: TypeAlias = User | AnonymousUser | str | None


def person(actor: Actor) -> User | None:
    """The signed-in person behind ``actor``, or None for a system actor."""
    if isinstance(actor, User) and actor.is_authenticated:
        return actor
    return None
