"""Where a form sends the person after a POST: the ``next`` it carries only when that is a
path on this site (never another host, a scheme-relative ``//host`` or ``javascript:``),
otherwise the view's own default. The one place views ask, so an open redirect cannot come
back through a new ``next`` field."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, default: str) -> str:
    """``request.POST['next']`` (or ``GET``) when it stays on this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
