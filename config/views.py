from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from integration.selectors.operations import worker_state


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: database reachable, and whether a worker is alive."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = {"status": "ok"}
    except Exception as exc:
        database = {"status": "error", "detail": exc.__class__.__name__}
    worker = worker_state()
    worker["last_beat"] = worker["last_beat"].isoformat() if worker["last_beat"] else None
    ok = database["status"] == "ok"
    return JsonResponse(
        {"status": "ok" if ok else "error", "database": database, "worker": worker},
        status=200 if ok else 503,
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
