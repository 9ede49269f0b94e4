"""Every user page of the seeded demo speaks publishing, not developer.

The demo is built as ``make run`` builds it (seed_demo, the sandboxes, the Exstream and
Consonance syncs over real HTTP, seed_setup, seed_demo_outcomes), then one rights confirmation
goes through the whole journey (compose, preview, four eyes, send; one letter fails, one is
answered). Each demo persona then follows every link reachable from the home page, and no page
may show a Python repr, a "None →", a dotted audit verb, a task's Python name, a source slug
such as "exstream-runtime", a raw exception text or a bare ONIX code after its list's name.
"""

from __future__ import annotations

import datetime
import re
from collections import deque
from decimal import Decimal
from html import unescape

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Imprint, User
from integration.delivery.gateway import ExstreamGateway
from integration.models import (
    Audience,
    Communication,
    Message,
    MessageEvent,
    PayeeProfile,
    RoyaltyLine,
    StatementRule,
)
from integration.setup.statements import payee_profile_save, statement_rule_save
from integration.status.apply import StatusInput, message_status_apply
from tests.factories import AudienceFactory
from tests.integration.communications.conftest import add_members
from tests.scenarios import build_demo

pytestmark = pytest.mark.django_db(transaction=True)

SKIP = re.compile(
    r"^/(static|media|sandbox|admin|api|accounts/(logout|password))|/(export|raw)/|\.csv|/logout"
)
HREF = re.compile(r'href="(/[^"#]*)"')
LEFTOVERS = [
    (re.compile(r"None →|→ None"), "a None in a change"),
    (re.compile(r"\{'|': '|\[\{'|<\w+ object|\bQuerySet\b"), "a Python repr"),
    (re.compile(r"integration\.tasks\.|accounts\.\w+\.\w+\("), "a Python task name"),
    (re.compile(r"exstream-(runtime|email|webhook)|colophon-dispatch"), "a source slug"),
    (re.compile(r"Expecting value|Traceback|JSONDecodeError|object at 0x"), "a raw exception"),
    (
        re.compile(r"\b(Audience|Qualifier|Price type|Availability|Form|Role) \d{2}\b"),
        "a bare list code",
    ),
]


def _visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|template)\b.*?</\1>", " ", html)
    html = re.sub(r"(?s)<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(html))


def _demo(live_server) -> None:
    build_demo()


def _journey() -> Communication:
    """A rights confirmation to three agents: previewed, approved by a second person, sent; one
    letter fails at Exstream, one is answered."""
    harbour = Imprint.objects.get(code="harbour")
    rights = User.objects.get(email="rights@demo.colophon.test")
    rights2 = User.objects.get(email="rights2@demo.colophon.test")
    audience = AudienceFactory.create(
        imprint=harbour, kind=Audience.Kind.UPLOADED, name="Foreign agents (list)"
    )
    add_members(audience, 3)
    work = harbour.works.order_by("pk").first()
    drafter, approver = Client(), Client()
    drafter.force_login(rights)
    approver.force_login(rights2)
    response = drafter.post(
        "/api/v1/communications/",
        {
            "imprint": harbour.pk,
            "communication_type": "rights-confirmation",
            "audience": audience.pk,
            "work": work.pk,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    comm = Communication.objects.get(pk=response.json()["id"])
    assert drafter.post(f"/api/v1/communications/{comm.pk}/preview/").status_code == 200
    submitted = drafter.post(f"/api/v1/communications/{comm.pk}/submit/")
    assert submitted.status_code == 200, submitted.content
    assert approver.post(f"/api/v1/communications/{comm.pk}/approve/").status_code == 200
    messages = list(comm.messages.order_by("sequence"))
    now = timezone.now()
    message_status_apply(
        events=[
            StatusInput(
                message_key=str(messages[0].key),
                status=Message.Status.FAILED,
                occurred_at=now,
                source=MessageEvent.Source.RUNTIME,
                external_event_id="sweep-failed",
                detail={"reason": "The address is incomplete."},
            ),
            StatusInput(
                message_key=str(messages[1].key),
                status=Message.Status.DELIVERED,
                occurred_at=now,
                source=MessageEvent.Source.RUNTIME,
                external_event_id="sweep-delivered",
            ),
        ]
    )
    return Communication.objects.get(pk=comm.pk)


def _statement_setup() -> None:
    """A statement rule and a payee profile, set by royalties staff through the services the
    screens use, so the Statements screens have rows to show."""
    harbour = Imprint.objects.get(code="harbour")
    royalties = User.objects.get(email="royalties@demo.colophon.test")
    statement_rule_save(
        actor=royalties,
        rule=StatementRule(
            imprint=harbour,
            name="Overseas withholding",
            author_group="Overseas agents",
            withholding_rate=Decimal("0.2"),
            note="UK basic-rate tax (20%) is withheld from payments to overseas agents.",
        ),
    )
    payee = RoyaltyLine.objects.filter(imprint=harbour).order_by("pk").first()
    assert payee is not None
    payee_profile_save(
        actor=royalties,
        profile=PayeeProfile(
            imprint=harbour, contact=payee.payee, channel="web", author_group="Overseas agents"
        ),
    )


def _crawl(
    user: User, verbs: set[str], limit: int = 400, seen: set[str] | None = None
) -> list[str]:
    client = Client()
    client.force_login(user)
    seen = set() if seen is None else seen
    shapes: dict[str, int] = {}  # /setup/templates/N/mappings/N/ -> pages of that shape seen
    queue = deque(["/"])
    problems: list[str] = []
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (301, 302):
            continue
        if response.status_code >= 500:
            problems.append(f"{url}: HTTP {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        text = _visible_text(html)
        for pattern, what in LEFTOVERS:
            match = pattern.search(text)
            if match:
                start = max(0, match.start() - 60)
                problems.append(f"{url}: {what}: …{text[start : match.end() + 60]}…")
        for verb in verbs:
            if re.search(rf"(?<![\w.]){re.escape(verb)}(?![\w.])", text):
                problems.append(f"{url}: the audit verb {verb!r}")
        for link in HREF.findall(html):
            link = unescape(link)
            # one page of each list is enough; filters and cursors repeat the same rows
            if SKIP.search(link) or "cursor=" in link or "page=" in link:
                continue
            shape = re.sub(r"\d+", "N", link)
            if link not in seen and shapes.get(shape, 0) < 3:
                shapes[shape] = shapes.get(shape, 0) + 1
                queue.append(link)
    return problems


def test_no_developer_leftovers_on_any_demo_page(sandbox, settings):
    cache.clear()
    ExstreamGateway._clients.clear()
    settings.COMMUNICATION_DISPATCH_CHUNK = 2
    # The live server shares the test's in-memory SQLite connection: one request at a time.
    settings.CONSONANCE_PREFETCH = False
    _demo(sandbox)
    comm = _journey()
    assert comm.status == Communication.Status.SENT
    _statement_setup()
    verbs = set(AuditEvent.objects.values_list("verb", flat=True).distinct())
    assert any("." in v for v in verbs)  # the demo does have dotted verbs to hide
    problems: list[str] = []
    visited: dict[str, set[str]] = {}
    for email in ("rights", "rights2", "marketing", "royalties", "pm", "admin", "viewer"):
        user = User.objects.get(email=f"{email}@demo.colophon.test")
        visited[email] = set()
        problems += [f"{email}: {p}" for p in _crawl(user, verbs, seen=visited[email])]
    # the screens of flows that were API-only are reached from the menu and the title page
    assert {"/statements/rules/", "/statements/payees/"} <= visited["royalties"]
    assert any(re.fullmatch(r"/statements/rules/\d+/edit/", u) for u in visited["royalties"])
    assert any(re.fullmatch(r"/statements/payees/\d+/edit/", u) for u in visited["royalties"])
    assert any(re.fullmatch(r"/titles/\d+/launch/", u) for u in visited["marketing"])
    cache.clear()
    ExstreamGateway._clients.clear()
    assert problems == [], "\n".join(sorted(set(problems)))
    assert datetime.date.today()  # the demo ran to the end
