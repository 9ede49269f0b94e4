"""GET changes nothing: every URL of the project, requested with GET by imprint A's own admin
(and by a superuser) with A's ids, leaves A's objects, the audit log and the outbox as they
were. State changes need a POST (with its CSRF token); a link, an image tag or a prefetch on
another site cannot make one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, User
from integration.models import Communication, OutboxItem, PreviewOutput
from tests.test_policy_sweep import (
    ALLOW_LIST,
    KWARGS,
    World,
    _methods,
    setup_object_snapshot,
    swept_routes,
    world,  # noqa: F401  (the fixture)
)


def _state(w: World) -> dict[str, object]:
    return {
        "objects": setup_object_snapshot(w),
        "audit": list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True)),
        "outbox": OutboxItem.objects.count(),
        "communications": list(Communication.objects.values_list("pk", "status")),
    }


@pytest.mark.parametrize("who", ["admin_a", "superuser"])
def test_get_requests_change_nothing(world: World, who: str, request, login) -> None:  # noqa: F811
    user: User = request.getfixturevalue(who)
    client = login(user)
    before = _state(world)
    previews = PreviewOutput.objects.count()
    changed: list[str] = []
    for name, route in sorted(swept_routes().items()):
        if name in ALLOW_LIST or "GET" not in _methods(route):
            continue
        for build in KWARGS[name]:
            url = reverse(name, kwargs=build(world) or None)
            for accept in ("application/json", "text/html"):
                response = client.get(url, HTTP_ACCEPT=accept)
                assert response.status_code < 500, f"GET {url} -> {response.status_code}"
                now = _state(world)
                if now != before:
                    diff = {k: (before[k], now[k]) for k in now if now[k] != before[k]}
                    changed.append(f"GET {url} ({name}, {accept}): {diff}")
                    before = now
    assert PreviewOutput.objects.count() == previews
    assert not changed, "\n".join(changed)
