"""Flow 1, member marketing: a launch announcement and a book-club renewal notice with offer
data, to a 10,000-member list in two territories (Britain and France).

Titles arrive by a Consonance sync; marketing drafts through the API, previews, submits; a
colleague approves; the chunks go to the sandbox Exstream over HTTP; statuses come back by
polling. Members who did not consent get nothing, each member gets the channel they chose
where the design offers it, prices and dates are formatted per territory and language, and
an expired offer is refused at submit, at approval and before each chunk is sent."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Territory
from integration.delivery.outbox import outbox_dispatch
from integration.models import (
    Audience,
    AudienceMember,
    Communication,
    Message,
    OutboxItem,
    Price,
    Work,
)
from sandbox.models import ExstreamSandboxJob
from tests.factories import AudienceFactory, TerritoryFactory
from tests.flows.support_a import (
    S,
    api,
    consonance_synced,
    designs,
    drafted,
    four_eyes,
    message_statuses,
    post,
    previewed,
    statuses_polled,
    template,
    vendors_fixture,  # noqa: F401 (the vendors fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

GB_MEMBERS, FR_MEMBERS = 6_000, 4_000


def _book_club(imprint, code: str, n: int, start: int, name: str = "") -> Audience:
    """The book club's members in one territory: every 20th did not consent; preferences
    rotate e-mail, print, e-mail, SMS (a channel neither design offers)."""
    audience = AudienceFactory.create(
        imprint=imprint,
        kind=Audience.Kind.UPLOADED,
        name=f"Book club {code} {name}".strip(),
        territory_code=code,
    )
    prefs = ["email", "print", "email", "sms"]
    AudienceMember.objects.bulk_create(
        [
            AudienceMember(
                audience=audience,
                row_number=i,
                email=f"member{i}@club.test",
                name=f"Member {i}",
                country=code,
                consent=i % 20 != 0,
                channel_preference=prefs[i % 4],
                address=f"{i} Rue du Port" if code == "FR" else f"{i} Harbour Street",
            )
            for i in range(start, start + n)
        ],
        batch_size=2000,
    )
    return audience


def _consenting(n: int, start: int) -> int:
    return sum(1 for i in range(start, start + n) if i % 20 != 0)


@pytest.fixture
def club(vendors, imprint_a, settings):
    settings.COMMUNICATION_DISPATCH_CHUNK = 2_500
    eu = TerritoryFactory.create(code="EU", name="European Union", kind=Territory.Kind.GROUP)
    for code in ("GB", "FR", "DE"):
        country = TerritoryFactory.create(code=code, name=code)
        if code != "GB":
            eu.members.add(country)
    consonance_synced(full=True)
    # A forthcoming title of the imprint with a euro price (Consonance prices: EUR → EU).
    work = (
        Work.objects.filter(imprint=imprint_a, products__prices__currency="EUR")
        .order_by("id")
        .first()
    )
    assert work is not None, "the sandbox holds a Harbour Lights title priced in euros"
    product = work.products.filter(prices__currency="EUR").order_by("id").first()
    found = designs("Launch announcement e-mail", "Member renewal notice")
    launch, renewal = found["Launch announcement e-mail"], found["Member renewal notice"]
    common = {
        "recipientName": "recipient.name",
        "recipientEmail": "recipient.email",
        "recipientAddress": "recipient.address",
        "imprintName": "imprint.name",
    }
    for code, locale, language in (("GB", "en-GB", "en"), ("FR", "fr-FR", "fr")):
        template(
            imprint=imprint_a,
            type_code="launch-announcement",
            design=launch,
            channels=["email"],
            territory=code,
            locale=locale,
            language=language,
            mappings={
                **common,
                "workTitle": "work.title",
                "isbn": "product.isbn",
                "publicationDate": ("product.publication_date", [{"op": "date"}]),
                "blurb": "work.blurb",
                "coverImageUrl": "work.cover_url",
                "formats": "work.formats",
                "prices": ("prices.territory", [{"op": "money"}]),
            },
        )
        template(
            imprint=imprint_a,
            type_code="member-renewal-notice",
            design=renewal,
            channels=["print", "email"],
            territory=code,
            locale=locale,
            language=language,
            mappings={
                **common,
                "membershipNumber": "recipient.reference",
                "renewalDate": ("offer.valid_until", [{"op": "date"}]),
                "offerCode": "offer.code",
                "offerPrice": ("offer.price", [{"op": "money"}]),
                "offerValidUntil": ("offer.valid_until", [{"op": "date"}]),
            },
        )
    return {
        "work": work,
        "product": product,
        "GB": _book_club(imprint_a, "GB", GB_MEMBERS, 1),
        "FR": _book_club(imprint_a, "FR", FR_MEMBERS, GB_MEMBERS + 1),
        # members who joined this month get their own (small) renewal mailing
        "FR-new": _book_club(imprint_a, "FR", 6, GB_MEMBERS + FR_MEMBERS + 1, name="new"),
    }


def _launch(user, club, code: str) -> Communication:
    return drafted(
        user,
        imprint=club["GB"].imprint_id,
        communication_type="launch-announcement",
        audience=club[code].pk,
        work=club["work"].pk,
        product=club["product"].pk,
        language="fr" if code == "FR" else "en",
    )


def _renewal(
    user, club, code: str, *, valid_until: datetime.date, audience: str = ""
) -> Communication:
    price = {"amount": "29.00", "currency": "EUR" if code == "FR" else "GBP"}
    return drafted(
        user,
        imprint=club["GB"].imprint_id,
        communication_type="member-renewal-notice",
        audience=club[audience or code].pk,
        language="fr" if code == "FR" else "en",
        offer={"code": f"CLUB-{code}", "price": price, "valid_until": valid_until.isoformat()},
    )


def test_launch_and_renewal_to_ten_thousand_members(
    club, marketing, admin_a, outsider, login, monkeypatch, settings
):
    today = timezone.localdate()
    work, product = club["work"], club["product"]
    eur = Price.objects.filter(product=product, currency="EUR").first()
    gbp = Price.objects.filter(product=product, currency="GBP").first()

    # --- the launch announcement, one per territory --------------------------------------------
    launch_gb = _launch(marketing, club, "GB")
    launch_fr = _launch(marketing, club, "FR")
    # consent respected: non-consenting members are not composed at all
    assert launch_gb.recipient_count == _consenting(GB_MEMBERS, 1)
    assert launch_fr.recipient_count == _consenting(FR_MEMBERS, GB_MEMBERS + 1)
    assert launch_gb.recipient_count + launch_fr.recipient_count == 9_500
    assert launch_gb.blocking_count == 0, launch_gb.messages.first().findings
    assert launch_fr.blocking_count == 0, launch_fr.messages.first().findings
    assert launch_gb.template.locale == "en-GB" and launch_fr.template.locale == "fr-FR"
    # prices and dates per territory and language
    first_gb = launch_gb.messages.order_by("sequence").first().driver_data
    first_fr = launch_fr.messages.order_by("sequence").first().driver_data
    assert first_fr["prices"] == f"{eur.amount:.2f}".replace(".", ",") + "\u00a0€"
    assert first_gb["prices"] == f"£{gbp.amount:.2f}"
    pub = product.publication_date
    months_fr = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    day_fr = "1er" if pub.day == 1 else str(pub.day)
    assert first_fr["publicationDate"] == f"{day_fr} {months_fr[pub.month - 1]} {pub.year}"
    assert first_gb["publicationDate"] == f"{pub.day} {pub:%B} {pub.year}"
    assert first_gb["coverImageUrl"].endswith(f"/covers/{work.consonance_id}.svg")
    # an outsider cannot see the draft
    assert api(outsider).get(f"/api/v1/communications/{launch_gb.pk}/").status_code == 404

    previewed(marketing, launch_fr)
    for comm in (launch_gb, launch_fr):
        comm = four_eyes(comm, drafter=marketing, approver=admin_a)
        assert comm.status == S.SENT, comm.status
        assert comm.approved_by == admin_a

    # --- the renewal notice, with the offer valid for ten more days ----------------------------
    valid_until = today + datetime.timedelta(days=10)
    renewal_gb = _renewal(marketing, club, "GB", valid_until=valid_until)
    channels = dict(
        renewal_gb.messages.values_list("recipient_key", "channel")[:4]  # type: ignore[misc]
    )
    # preferences: e-mail and print as chosen, SMS (not offered) falls back to print
    prefs = list(
        club["GB"]
        .members.filter(consent=True)
        .order_by("row_number")[:4]
        .values_list("pk", "channel_preference")
    )
    for pk, pref in prefs:
        assert channels[f"member:{pk}"] == (pref if pref in ("print", "email") else "print")
    data = renewal_gb.messages.order_by("sequence").first().driver_data
    assert data["offerCode"] == "CLUB-GB" and data["offerPrice"] == "£29.00"
    assert data["offerValidUntil"] == f"{valid_until.day} {valid_until:%B} {valid_until.year}"
    renewal_gb = four_eyes(renewal_gb, drafter=marketing, approver=admin_a)
    assert renewal_gb.status == S.SENT

    # the French renewal is drafted and submitted, but approval waits past the offer's end
    renewal_fr = _renewal(marketing, club, "FR", valid_until=valid_until)
    fr_data = renewal_fr.messages.order_by("sequence").first().driver_data
    assert fr_data["offerPrice"] == "29,00\u00a0€"
    post(marketing, f"/api/v1/communications/{renewal_fr.pk}/submit/")
    with time_machine.travel(valid_until + datetime.timedelta(days=1)):
        refused = api(admin_a).post(f"/api/v1/communications/{renewal_fr.pk}/approve/")
        assert refused.status_code == 400
        assert "offer expired" in refused.content.decode()
    assert Communication.objects.get(pk=renewal_fr.pk).status == S.SUBMITTED

    # at submit: a second French draft whose offer lapses before it is submitted
    late = _renewal(marketing, club, "FR", valid_until=today, audience="FR-new")
    with time_machine.travel(today + datetime.timedelta(days=1)):
        response = api(marketing).post(f"/api/v1/communications/{late.pk}/submit/")
        assert response.status_code == 400 and "offer expired" in response.content.decode()
        # and a new draft with an expired offer is refused outright
        response = api(marketing).post(
            "/api/v1/communications/",
            {
                "imprint": club["GB"].imprint_id,
                "communication_type": "member-renewal-notice",
                "audience": club["FR"].pk,
                "language": "fr",
                "offer": {"code": "OLD", "valid_until": today.isoformat()},
            },
            content_type="application/json",
        )
        assert response.status_code == 400
        assert list(response.json()["error"]["details"]) == ["offer"]

    # before each chunk: approved on the last valid day, the worker only runs the day after
    settings.COMMUNICATION_DISPATCH_CHUNK = 3  # the six new members go in two chunks
    last_day = _renewal(marketing, club, "FR", valid_until=today, audience="FR-new")
    post(marketing, f"/api/v1/communications/{last_day.pk}/submit/")
    jobs_before = ExstreamSandboxJob.objects.count()
    monkeypatch.setattr("integration.communications.chunks.enqueue", lambda *a, **k: None)
    post(admin_a, f"/api/v1/communications/{last_day.pk}/approve/")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        outbox_dispatch(worker="late-worker")
    last_day = Communication.objects.get(pk=last_day.pk)
    assert last_day.status == S.FAILED
    assert ExstreamSandboxJob.objects.count() == jobs_before  # nothing reached Exstream
    dead = OutboxItem.objects.filter(payload__communication_id=last_day.pk)
    assert dead.count() == 2 and all("offer expired" in i.dead_reason for i in dead)
    assert set(last_day.messages.values_list("status", flat=True)) == {Message.Status.FAILED}

    # --- statuses come back, and people see them ------------------------------------------------
    # (the French launch's jobs: polling all 9,500 e-mails back would only repeat it)
    statuses_polled(launch_fr)
    counts = message_statuses(Communication.objects.get(pk=launch_fr.pk))
    assert set(counts) <= {"delivered", "opened", "not_delivered", "bounced"}, counts
    assert sum(counts.values()) == launch_fr.recipient_count
    assert counts.get("delivered", 0) + counts.get("opened", 0) > 0, counts
    timeline = login(marketing).get(f"/titles/{work.pk}/").content.decode()
    assert launch_gb.name in timeline and launch_fr.name in timeline
