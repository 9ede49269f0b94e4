"""Flow 5, launch: a forthcoming title arrives by the Consonance sync. Marketing asks which
launch communications its US launch needs: each format gets a retailer notice when it is
forthcoming or available and for sale in the US (the UK-only format gets none, with the reason),
and advance readers get one reading-copy communication; all carry the cover image. They are
previewed, approved by a colleague, sent to the sandbox Exstream and come back delivered. A
post-launch follow-up is scheduled 14 days after publication; when Consonance moves the
publication date the follow-up moves with it (and a follow-up drafted for the old date is
withdrawn), and it is drafted on the new day."""

from __future__ import annotations

import datetime

import pytest

from accounts.models import AuditEvent
from integration.communications.triggered import triggers_run_due
from integration.models import Audience, Communication, Contact, Work
from sandbox.consonance import store
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
from tests.scenarios import add_members

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launch(vendors, imprint_a):
    consonance_synced(full=True)
    # a forthcoming Harbour Lights title with a UK-only format
    work = next(
        w
        for w in Work.objects.filter(imprint=imprint_a).order_by("id")
        if w.products.filter(publishing_status="02").count() >= 2
        and any("US" in p.not_for_sale_territories for p in w.products.all())
    )
    for n, name in enumerate(["Main Street Books", "Prairie Booksellers"], start=1):
        ContactFactory.create(
            consonance_id=910_000 + n,
            kind=Contact.Kind.ORGANISATION,
            name=name,
            organisation_type="retailer",
            emails=[f"orders@retailer{n}.test"],
            addresses=[{"line1": f"{n} Main Street", "city": "Springfield", "country": "US"}],
            country="US",
        )
    retailers = AudienceFactory.create(
        imprint=imprint_a,
        name="US retailers",
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=["retailer"],
        territory_code="US",
    )
    readers = AudienceFactory.create(
        imprint=imprint_a, name="Advance readers", kind=Audience.Kind.UPLOADED
    )
    add_members(readers, 3)
    readers.members.update(channel_preference="email")
    found = designs("Retailer notice", "Advance reader communication", "Launch announcement e-mail")
    common = {
        "recipientName": "recipient.name",
        "recipientEmail": "recipient.email",
        "imprintName": "imprint.name",
        "workTitle": "work.title",
        "isbn": "product.isbn",
    }
    template(
        imprint=imprint_a,
        type_code="retailer-notice",
        design=found["Retailer notice"],
        channels=["email", "print"],
        locale="en-US",
        mappings={
            **common,
            "recipientAddress": "recipient.address",
            "retailerAccount": "recipient.reference",
            "noticeText": ("work.formats", [{"op": "join", "separator": "; "}]),
            "coverImageUrl": "work.cover_url",
            "prices": ("prices.territory", [{"op": "money"}]),
        },
    )
    template(
        imprint=imprint_a,
        type_code="advance-reader-communication",
        design=found["Advance reader communication"],
        channels=["email"],
        locale="en-US",
        mappings={**common, "accessLink": "campaign.link"},
    )
    template(
        imprint=imprint_a,
        type_code="post-launch-follow-up",
        design=found["Launch announcement e-mail"],
        channels=["email"],
        locale="en-US",
        mappings={
            **common,
            "publicationDate": ("product.publication_date", [{"op": "date"}]),
            "coverImageUrl": "work.cover_url",
            "formats": "work.formats",
        },
    )
    rule = TriggerRuleFactory.create(
        imprint=imprint_a,
        name="Follow-up two weeks after publication",
        event="post_publication",
        days_before=14,
        communication_type=communication_type("post-launch-follow-up"),
        audience=readers,
    )
    return {"work": work, "retailers": retailers, "readers": readers, "rule": rule}


def test_launch_by_format_and_territory_with_a_follow_up_that_moves(
    launch, marketing, admin_a, viewer, outsider, login
):
    work, retailers, readers = launch["work"], launch["retailers"], launch["readers"]
    url = f"/api/v1/titles/{work.pk}/launch/"
    uk_only = next(p for p in work.products.all() if "US" in p.not_for_sale_territories)

    # --- which communications the US launch needs, format by format ---------------------------
    plan = api(marketing).get(url, {"territory": "US"}).json()
    by_product = {f["product"]: f for f in plan["formats"]}
    assert by_product[uk_only.pk]["communication_type"] is None
    assert "not for sale in US" in by_product[uk_only.pk]["reason"]
    chosen = [f["product"] for f in plan["formats"] if f["communication_type"]]
    assert chosen and uk_only.pk not in chosen
    assert plan["advance_reader_product"] in chosen
    assert api(outsider).get(url, {"territory": "US"}).status_code == 404
    assert api(marketing).get(url).status_code == 400

    body = {
        "territory": "US",
        "retailer_audience": retailers.pk,
        "reader_audience": readers.pk,
        "campaign": {"link": "https://readers.example.test/early"},
    }
    response = api(viewer).post(url, body, content_type="application/json")
    assert response.status_code == 403
    drafted = post(marketing, url, body, status=201)["created"]
    assert post(marketing, url, body)["created"] == []  # asking twice drafts nothing new
    comms = Communication.objects.filter(pk__in=drafted)
    notices = comms.filter(communication_type__code="retailer-notice")
    arc = comms.get(communication_type__code="advance-reader-communication")
    assert sorted(notices.values_list("product_id", flat=True)) == sorted(chosen)
    for notice in notices:
        findings = notice.messages.first().findings
        assert notice.recipient_count == 2 and notice.blocking_count == 0, findings
        data = notice.messages.first().driver_data
        assert data["coverImageUrl"].endswith(f"/covers/{work.consonance_id}.svg")
        assert data["prices"].startswith("$")
    assert arc.recipient_count == 3
    assert arc.messages.first().driver_data["accessLink"] == "https://readers.example.test/early"

    previewed(marketing, notices.first())
    for comm in [*notices, arc]:
        sent = four_eyes(comm, drafter=marketing, approver=admin_a)
        assert sent.status == S.SENT

    # --- the follow-up: scheduled from the publication date, moved when it moves ---------------
    product = arc.product
    old_pub = product.publication_date
    follow_ups = api(marketing).get(url, {"territory": "US"}).json()["follow_ups"]
    row = next(f for f in follow_ups if f["product"] == product.pk)
    assert row["scheduled_for"] == str(old_pub + datetime.timedelta(days=14))
    assert row["state"] == "scheduled"

    new_pub = datetime.date.fromisoformat(
        store.slip_publication_date(product.consonance_id, days=21)
    )
    consonance_synced()
    moved = AuditEvent.objects.get(verb="launch.follow_up_rescheduled", work_id=work.pk)
    assert moved.data["follow_up"] == [
        str(old_pub + datetime.timedelta(days=14)),
        str(new_pub + datetime.timedelta(days=14)),
    ]
    follow_ups = api(marketing).get(url, {"territory": "US"}).json()["follow_ups"]
    row = next(f for f in follow_ups if f["product"] == product.pk)
    assert row["scheduled_for"] == str(new_pub + datetime.timedelta(days=14))

    # the old day passes without a follow-up for this format (the formats whose date did not
    # move get theirs); on the new day the trigger drafts it
    on_old_day = triggers_run_due(today=old_pub + datetime.timedelta(days=14))
    assert not Communication.objects.filter(pk__in=on_old_day, product=product).exists()
    created = triggers_run_due(today=new_pub + datetime.timedelta(days=14))
    follow_up = Communication.objects.get(pk__in=created, product=product)
    assert follow_up.communication_type.code == "post-launch-follow-up"
    assert follow_up.trigger_rule == launch["rule"] and follow_up.recipient_count == 3
    follow_up = four_eyes(follow_up, drafter=marketing, approver=admin_a)
    assert follow_up.status == S.SENT

    # --- statuses back; the title's timeline tells the launch ----------------------------------
    statuses_polled(arc, follow_up)
    for comm in (arc, follow_up):
        counts = message_statuses(Communication.objects.get(pk=comm.pk))
        assert counts.get("delivered", 0) + counts.get("opened", 0) == 3, counts
    page = login(marketing).get(f"/titles/{work.pk}/").content.decode()
    assert arc.name in page and follow_up.name in page
