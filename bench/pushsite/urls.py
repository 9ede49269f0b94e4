"""The project's URLs plus ``/bench/insert-only/``: one INSERT of the raw body per request, no
signature check, no parsing, no task. The floor the push receiver is divided by."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns
from integration.models import InboundEvent


@csrf_exempt
def insert_only(request: HttpRequest) -> JsonResponse:
    event = InboundEvent.objects.create(
        source="bench", event_id=uuid.uuid4().hex, raw_body=request.body.decode(), headers={}
    )
    return JsonResponse({"status": "accepted", "id": event.event_id}, status=202)


urlpatterns = [path("bench/insert-only/", insert_only), *project_urlpatterns]
