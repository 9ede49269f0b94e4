"""Flow 7, partner catalogue updates: a price change and a publication-date change arrive by
the Consonance sync; marketing drafts the period's metadata change notices — one per title,
listing every change of the period with its old and new value, one message per partner
(retailer, wholesaler, library, distributor), never one notice per changed field — previews,
and a colleague approves; they go to the sandbox Exstream and come back delivered. When the
title is published, a trigger rule drafts the release alert."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from integration.models import (
    Audience,
    ChangeEvent,
    Communication,
    Contact,
    Product,
    TriggerRule,
)
from sandbox.consonance import store
from sandbox.models import SandboxProduct
from tests.factories import AudienceFactory, ContactFactory, TriggerRuleFactory, communication_type
from tests.flows.support_a import (
    S,
    api,
    consonance_synced,
    designs,
    four_eyes,
    message_statuses,
    post,
    previewed,
    statuses_polled,
    template,
    vendors_fixture,  # noqa: F401 (the vendors fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

PARTNERS = {
    "retailer": "Harbour Books Ltd",
    "wholesaler": "Gardners Wholesale",
    "library": "County Library Service",
    "distributor": "Coast Distribution",
}


@pytest.fixture
def trade(vendors, imprint_a):
    consonance_synced(full=True)
    for n, (kind, name) in enumerate(PARTNERS.items(), start=1):
        # Consonance documents no partner type for a contact: partners are kept in Colophon.
        ContactFactory.create(
            consonance_id=900_000 + n,
            kind=Contact.Kind.ORGANISATION,
            name=name,
            organisation_type=kind,
            emails=[f"trade@{kind}.test"],
            country="GB",
        )
    partners = AudienceFactory.create(
        imprint=imprint_a,
        name="Trade partners",
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=list(PARTNERS),
    )
    found = designs("Metadata change notice", "Release alert")
    common = {
        "recipientName": "recipient.name",
        "recipientEmail": "recipient.email",
        "imprintName": "imprint.name",
        "workTitle": "work.title",
        "isbn": "product.isbn",
    }
    template(
        imprint=imprint_a,
        type_code="metadata-change-notice",
        design=found["Metadata change notice"],
        channels=["email"],
        mappings={
            **common,
            "changedFields": ("changes.period", [{"op": "join", "separator": "; "}]),
        },
    )
    template(
        imprint=imprint_a,
        type_code="release-alert",
        design=found["Release alert"],
        channels=["email"],
        mappings={
            **common,
            "releaseDate": ("product.publication_date", [{"op": "date"}]),
        },
    )
    TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Release alert on publication",
        event=TriggerRule.Event.PUBLISHING_STATUS,
        match_value="04",
        communication_type=communication_type("release-alert"),
        audience=partners,
    )
    # a forthcoming Harbour Lights title with a sterling price
    product = (
        Product.objects.filter(
            work__imprint=imprint_a, publishing_status="02", prices__currency="GBP"
        )
        .order_by("id")
        .first()
    )
    assert product is not None
    return {"partners": partners, "product": product, "work": product.work}


def test_price_and_date_changes_become_one_notice_per_partner(
    trade, marketing, admin_a, viewer, outsider, login
):
    product, work, partners = trade["product"], trade["work"], trade["partners"]
    old_price = str(product.prices.get(currency="GBP").amount)
    old_date = product.publication_date

    # --- data arrives: a price rise and a slipped publication date ------------------------------
    store.change_price(product.consonance_id, currency="GBP", amount=21.99)
    new_date = store.slip_publication_date(product.consonance_id, days=42)
    consonance_synced()
    kinds = set(ChangeEvent.objects.filter(product=product).values_list("kind", flat=True))
    assert {"price", "publication_date"} <= kinds
    # no rule drafts a notice per field
    assert not Communication.objects.filter(communication_type__code="metadata-change-notice")

    today = timezone.localdate()
    period = {"period_start": str(today - datetime.timedelta(days=6)), "period_end": str(today)}
    body = {"imprint": work.imprint_id, "audience": partners.pk, **period}
    # who may: a viewer may not draft, an outsider does not see the imprint
    assert (
        api(viewer)
        .post("/api/v1/communications/partner-notices/", body, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        api(outsider)
        .post("/api/v1/communications/partner-notices/", body, content_type="application/json")
        .status_code
        == 400
    )
    bad = {**body, "period_start": str(today), "period_end": str(today - datetime.timedelta(1))}
    response = api(marketing).post(
        "/api/v1/communications/partner-notices/", bad, content_type="application/json"
    )
    assert response.status_code == 400 and "period_end" in response.content.decode()

    result = post(marketing, "/api/v1/communications/partner-notices/", body, status=201)
    notices = Communication.objects.filter(pk__in=result["created"])
    notice = notices.get(work=work)  # one notice for the title, whatever number of fields
    assert notice.communication_type.code == "metadata-change-notice"
    assert notice.recipient_count == 4 and notice.blocking_count == 0
    assert set(notice.messages.values_list("recipient_name", flat=True)) == set(PARTNERS.values())
    changed = notice.messages.first().driver_data["changedFields"]
    assert f"{old_price} → 21.99" in changed
    assert f"Publication date ({product.isbn13}): {old_date} → {new_date}" in changed
    # drafting the same period again adds nothing
    again = post(marketing, "/api/v1/communications/partner-notices/", body)
    assert again["created"] == [] and notice.pk in again["existing"]

    previewed(marketing, notice)
    notice = four_eyes(notice, drafter=marketing, approver=admin_a)
    assert notice.status == S.SENT

    # --- publication: the title goes active in Consonance, a trigger drafts the release alert --
    row = SandboxProduct.objects.get(pk=product.consonance_id)
    row.data["onixPublishingStatusCode"] = "04"
    store.save_product(row)
    consonance_synced()
    alert = Communication.objects.get(communication_type__code="release-alert", product=product)
    assert alert.trigger_rule is not None and alert.created_by is None
    assert alert.recipient_count == 4
    release = datetime.date.fromisoformat(new_date)
    assert alert.messages.first().driver_data["releaseDate"] == (
        f"{release.day} {release:%B} {release.year}"
    )
    alert = four_eyes(alert, drafter=marketing, approver=admin_a)
    assert alert.status == S.SENT

    # --- statuses back; the title's timeline shows both ----------------------------------------
    statuses_polled(notice, alert)
    for comm in (notice, alert):
        counts = message_statuses(Communication.objects.get(pk=comm.pk))
        assert counts.get("delivered", 0) + counts.get("opened", 0) == 4, counts
    page = login(marketing).get(f"/titles/{work.pk}/").content.decode()
    assert notice.name in page and alert.name in page
    timeline = api(marketing).get(f"/api/v1/titles/{work.pk}/timeline/").content.decode()
    assert "partner.notice_drafted" in timeline or notice.name in timeline
