"""Flow 7's weekly schedule: once a week the worker drafts the period's metadata change notices
for every audience marked for weekly partner notices — one notice per changed title, one
message per partner — and a second run for the same week drafts nothing new."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from integration import tasks
from integration.apps import SCHEDULES
from integration.communications.partner_notices import partner_notices_draft_weekly
from integration.lib import schedules
from integration.models import Audience, ChangeEvent, Communication, Contact
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ContactFactory,
    FieldMappingFactory,
    ProductFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 28)


def _change(work, product, field, old, new, when):
    return ChangeEvent.objects.create(
        imprint=work.imprint,
        work=work,
        product=product,
        kind="price",
        field=field,
        old_value=old,
        new_value=new,
        created_at=timezone.make_aware(datetime.datetime.combine(when, datetime.time(9))),
        triggers_evaluated=True,
    )


@pytest.fixture
def weekly(imprint_a, imprint_b):
    for kind, name in (("retailer", "Shop"), ("library", "County Library")):
        ContactFactory.create(
            kind=Contact.Kind.ORGANISATION, organisation_type=kind, name=name, country="GB"
        )
    for imprint in (imprint_a, imprint_b):
        template = CommunicationTemplateFactory.create(
            imprint=imprint, communication_type=communication_type("metadata-change-notice")
        )
        FieldMappingFactory.create(
            template=template,
            driver_field="changedFields",
            context_field="changes.period",
            transforms=[{"op": "join", "separator": "; "}],
        )
    partners = AudienceFactory.create(
        imprint=imprint_a,
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=["retailer", "library"],
        name="Partners",
        weekly_partner_notices=True,
    )
    # not marked: the weekly job leaves it alone
    AudienceFactory.create(
        imprint=imprint_b,
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=["retailer"],
        name="Northwind shops",
    )
    tides = WorkFactory.create(imprint=imprint_a, title="Tides")
    tides_pb = ProductFactory.create(work=tides, isbn13="9780000000017")
    _change(tides, tides_pb, "GBP 02 GB", "16.99", "17.99", TODAY - datetime.timedelta(days=3))
    _change(tides, tides_pb, "GBP 02 GB", "17.99", "18.99", TODAY - datetime.timedelta(days=1))
    # changed before the week: not in this period's notices
    older = WorkFactory.create(imprint=imprint_a, title="Older")
    _change(
        older,
        ProductFactory.create(work=older),
        "GBP 02 GB",
        "9.99",
        "10.99",
        TODAY - datetime.timedelta(days=9),
    )
    north = WorkFactory.create(imprint=imprint_b, title="Northern Title")
    _change(north, ProductFactory.create(work=north), "GBP 02 GB", "5.00", "6.00", TODAY)
    return {"partners": partners, "tides": tides}


def test_the_weekly_schedule_is_in_the_one_registry():
    assert SCHEDULES["partner-notices-weekly"] == (
        "integration.tasks.partner_notices_weekly",
        7 * 24 * 60,
    )
    # resolved at start-up like every other schedule (installed after migrate)
    assert schedules.SCHEDULES["partner-notices-weekly"] == (
        "integration.tasks.partner_notices_weekly",
        7 * 24 * 60,
    )


def test_the_weekly_task_drafts_the_weeks_notices_once(weekly, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime.datetime(2026, 11, 28, 10, tzinfo=datetime.UTC)):
        with django_capture_on_commit_callbacks(execute=True):  # composing, as the worker does
            said = tasks.partner_notices_weekly()
        assert said.startswith("2026-11-22 to 2026-11-28: 1 partner notices drafted")
        [notice] = Communication.objects.filter(communication_type__code="metadata-change-notice")
        assert notice.work == weekly["tides"] and notice.audience == weekly["partners"]
        assert notice.created_by is None  # the system drafted it
        assert (notice.period_start, notice.period_end) == (
            datetime.date(2026, 11, 22),
            datetime.date(2026, 11, 28),
        )
        notice = Communication.objects.get(pk=notice.pk)
        assert notice.recipient_count == 2  # one message per partner
        changed = notice.messages.first().driver_data["changedFields"]
        assert "16.99 → 18.99" in changed  # first old value → last new value of the week
        assert "9.99" not in changed

        # the same week again: nothing new
        assert "0 partner notices drafted, 1 already drafted" in tasks.partner_notices_weekly()
        assert Communication.objects.filter(work__isnull=False).count() == 1


def test_a_later_week_drafts_that_weeks_notices(weekly):
    partner_notices_draft_weekly(today=TODAY)
    later = partner_notices_draft_weekly(today=TODAY + datetime.timedelta(days=7))
    # nothing changed in the following week
    assert later.created == [] and later.existing == []
    assert later.period_start == TODAY + datetime.timedelta(days=1)
