"""Styled "not found" pages even with DEBUG on (``make run``): a mistyped address or another
imprint's record shows the same page a user sees in production, not Django's debug 404 (which
lists every URL pattern). "Not allowed" already goes through ``handler403`` in both modes; a
server error keeps Django's traceback under DEBUG, because that is what a developer needs.

The API and the sandboxes answer in JSON and are left alone."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.urls import Resolver404, resolve

from config.views import error_404

_JSON_PREFIXES = ("/api/", "/sandbox/")


class StyledNotFoundMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def _applies(self, request: HttpRequest) -> bool:
        return settings.DEBUG and not request.path.startswith(_JSON_PREFIXES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._applies(request):
            try:
                resolve(request.path_info)
            except Resolver404 as exc:
                return error_404(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and self._applies(request):
            return error_404(request, exception)
        return None


class RefuseNulBytesMiddleware:
    """A NUL byte in the address or its query can be nothing a person meant, and PostgreSQL
    refuses to compare text with one (a server error on whatever filter it reaches). Such a
    request is answered 400 before any view runs: JSON for the API, a short page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            message = "The address contains a NUL character (%00); remove it and try again."
            if request.path.startswith(_JSON_PREFIXES):
                return JsonResponse(
                    {"error": {"code": "invalid", "message": message, "details": []}},
                    status=400,
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
