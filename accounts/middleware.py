from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts import policy

SESSION_KEY = "current_imprint_id"


class CurrentImprintMiddleware:
    """Sets ``request.imprint``: the imprint the user chose in the switcher, if it is one of theirs.

    The switcher narrows screens to one imprint; it never widens access (the policy still decides).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.imprint = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            chosen = request.session.get(SESSION_KEY)
            if chosen is not None:
                imprint = policy.imprints_for(user).filter(pk=chosen).first()
                if imprint is None:
                    request.session.pop(SESSION_KEY, None)
                request.imprint = imprint  # type: ignore[attr-defined]
        return self.get_response(request)
