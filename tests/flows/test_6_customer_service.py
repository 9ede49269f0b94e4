"""Flow 6, customer-service outcomes, as Harbour Lights' marketing team lives it.

The Bright Keeper's paperback is late and out of stock; customers who ordered it get a delay
notice, an out-of-stock notice, a format-substitution notice (the hardback instead) and a
revised-date notice. Each is approved by the imprint admin (marketing drafted it), sent and
delivered. The contact centre closes the cases: outcomes with their case references come back
through the signed webhook, linked to the messages, and the report shows The Bright Keeper's
recurring issues with their cases. Consonance documents no mutation for a customer-service case,
so nothing is written back: the outcomes are kept and listed."""

from __future__ import annotations

import pytest
from django.conf import settings

from integration.models import (
    Audience,
    Communication,
    CustomerServiceOutcome,
    InboundEvent,
    OutboxItem,
    WritebackRecord,
)
from sandbox.exstream.push import push_customer_service_outcome
from tests.factories import AudienceFactory
from tests.flows.steps_b import (
    ISO,
    TITLE,
    designs,
    draft,
    flow,  # noqa: F401  (fixture)
    four_eyes,
    get,
    post,
    preview,
    statuses,
    statuses_back,
    sync,
    template,
    title,
)
from tests.scenarios import add_members

pytestmark = pytest.mark.django_db(transaction=True)
S = Communication.Status

NOTICES = {
    # type code: (Exstream design, its own driver fields, issue type)
    "delay-notice": (
        "Customer-service delay notice",
        {"newDate": "product.publication_date"},
        "delay",
    ),
    "out-of-stock-notice": ("Customer-service out-of-stock notice", {}, "out_of_stock"),
    "format-substitution-notice": (
        "Customer-service format-substitution notice",
        {"substituteFormat": "product.format"},
        "format_substitution",
    ),
    "revised-date-notice": (
        "Customer-service revised-date notice",
        {"revisedDate": "product.publication_date"},
        "revised_date",
    ),
}


def test_notices_outcomes_and_cases_show_as_recurring_issues_per_title(
    flow,  # noqa: F811
    imprint_a,
    marketing,
    admin_a,
    viewer,
    outsider,
    login,
):
    sync(full=True)
    keeper = title("The Bright Keeper")
    paperback = keeper.products.get(product_form="BC")

    designs(*(design for design, _, _ in NOTICES.values()))
    for code, (design, own, _issue) in NOTICES.items():
        template(
            imprint=imprint_a,
            code=code,
            design=design,
            fields={**TITLE, "orderReference": "campaign.code", **own},
            transforms={"newDate": ISO, "revisedDate": ISO},
            optional=("expectedDate",),
        )
    customers = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.UPLOADED, name="Orders: The Bright Keeper (PB)"
    )
    add_members(customers, 3)

    # --- marketing drafts the four notices about the paperback; the admin approves ----------
    sent: dict[str, Communication] = {}
    for code in NOTICES:
        comm = draft(
            marketing,
            imprint=imprint_a.pk,
            communication_type=code,
            audience=customers.pk,
            work=keeper.pk,
            campaign={"name": "Paperback orders", "code": "ORD-BK-2611"},
        )
        assert comm.blocking_count == 0, list(comm.messages.values_list("findings", flat=True))
        assert comm.messages.first().driver_data["isbn"]
        if code == "delay-notice":  # one is enough to see the letter through Exstream
            preview(marketing, comm)
        sent[code] = four_eyes(marketing, admin_a, comm)
        assert sent[code].status == S.SENT
    statuses_back()
    for comm in sent.values():
        assert set(statuses(comm).values()) == {"opened"}

    # --- the contact centre closes cases: outcomes come back through the signed webhook -----
    settings_secret = settings.EXSTREAM_EVENTS_SECRET  # the sandbox's own when unset
    outcomes = [
        ("delay-notice", "CS-1001", "accepted", "Happy to wait"),
        ("delay-notice", "CS-1002", "cancelled", "Bought elsewhere"),
        ("out-of-stock-notice", "CS-1003", "refunded", ""),
        ("format-substitution-notice", "CS-1004", "substituted", "Took the hardback"),
        ("revised-date-notice", "CS-1005", "accepted", ""),
    ]
    for n, (code, case, outcome, note) in enumerate(outcomes, start=1):
        message = sent[code].messages.order_by("sequence")[n % 3]
        push_customer_service_outcome(
            event_id=f"evt-cs-{n}",
            case_reference=case,
            issue_type=NOTICES[code][2],
            isbn=str(message.driver_data["isbn"]),
            outcome=outcome,
            message_key=str(message.key),
            note=note,
            secret=settings_secret or None,
        )
    # the relay retries one event: stored once
    push_customer_service_outcome(
        event_id="evt-cs-1",
        case_reference="CS-1001",
        issue_type="delay",
        isbn=paperback.isbn13,
        outcome="accepted",
        secret=settings_secret or None,
    )
    assert InboundEvent.objects.count() >= 5
    stored = CustomerServiceOutcome.objects.filter(work=keeper)
    assert stored.count() == 5
    assert sorted(stored.values_list("case_reference", flat=True)) == [
        "CS-1001",
        "CS-1002",
        "CS-1003",
        "CS-1004",
        "CS-1005",
    ]
    assert all(o.message is not None and o.imprint == imprint_a for o in stored)
    assert {o.message.communication_id for o in stored} == {c.pk for c in sent.values()}

    # --- listed through the API, per title, to the imprint only ------------------------------
    listed = get(marketing, f"/api/v1/customer-service-outcomes/?work={keeper.pk}")
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {r["case_reference"] for r in rows} == {c for _, c, _, _ in outcomes}
    other = get(outsider, "/api/v1/customer-service-outcomes/")
    assert (other["results"] if isinstance(other, dict) else other) == []

    # --- the report: The Bright Keeper's delays recur, with their cases ----------------------
    page = login(viewer).get("/reports/customer-service/").content.decode()
    assert "The Bright Keeper" in page and "recurring" in page
    assert "CS-1002, CS-1001" in page or "CS-1001, CS-1002" in page
    assert "Written back to Consonance: no" in page
    assert (
        "The Bright Keeper"
        not in login(outsider).get("/reports/customer-service/").content.decode()
    )

    # --- nothing written back: no documented mutation holds a case ---------------------------
    assert not OutboxItem.objects.filter(kind=OutboxItem.Kind.CONSONANCE_WRITEBACK).exists()
    assert not WritebackRecord.objects.exists()

    # --- and the title's timeline shows the notices and the outcomes recorded ----------------
    timeline = get(marketing, f"/api/v1/titles/{keeper.pk}/timeline/?page_size=300")
    text = " ".join(str(r) for r in timeline["results"])
    assert "outcome" in text.lower()
    # a viewer may read all this but not draft a notice
    body = {
        "imprint": imprint_a.pk,
        "communication_type": "delay-notice",
        "audience": customers.pk,
        "work": keeper.pk,
    }
    post(viewer, "/api/v1/communications/", body, status=403)
