"""Marketing consent of Consonance contacts, recorded in Colophon per imprint (Consonance keeps
none): it reaches the recipients of contributor and organisation audiences, so the consent
compliance rule can pass for an author who agreed and still blocks one who did not."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import AuditEvent
from integration.models import ContactConsent
from integration.setup.audiences import audience_recipients, contact_consent_record
from tests.factories import AudienceFactory, ContactFactory, ContributionFactory, WorkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def authors(imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    ann, bob, cy = (ContactFactory.create(name=n) for n in ("Ann Author", "Bob Author", "Cy"))
    for contact in (ann, bob, cy):
        ContributionFactory.create(work=work, contact=contact, role="A01")
    audience = AudienceFactory.create(imprint=imprint_a, contributor_roles=["A01"])
    return audience, work, ann, bob, cy


def _consents(audience, work) -> dict[str, bool | None]:
    return {r.name: r.consent for r in audience_recipients(audience=audience, work=work)}


def test_recorded_consent_reaches_the_recipients(authors, imprint_a, imprint_b, marketing):
    audience, work, ann, bob, cy = authors
    contact_consent_record(actor=marketing, imprint=imprint_a, contact=ann, consent=True)
    contact_consent_record(actor=marketing, imprint=imprint_a, contact=bob, consent=False)
    contact_consent_record(actor=None, imprint=imprint_b, contact=cy, consent=True)  # not A's
    assert _consents(audience, work) == {"Ann Author": True, "Bob Author": False, "Cy": None}
    events = AuditEvent.objects.filter(verb="setup.contact_consent_recorded", actor=marketing)
    assert events.count() == 2


def test_a_new_decision_replaces_the_old_one(authors, imprint_a, admin_a):
    audience, work, ann, _bob, _cy = authors
    contact_consent_record(actor=admin_a, imprint=imprint_a, contact=ann, consent=True)
    contact_consent_record(
        actor=admin_a, imprint=imprint_a, contact=ann, consent=False, note="Asked to stop."
    )
    record = ContactConsent.objects.get(imprint=imprint_a, contact=ann)
    assert record.consent is False and record.note == "Asked to stop."
    assert record.recorded_by == admin_a
    assert _consents(audience, work)["Ann Author"] is False


@pytest.mark.parametrize("who", ["viewer", "outsider", "rights_manager"])
def test_only_staff_who_may_import_record_consent(authors, imprint_a, who, request):
    _audience, _work, ann, _bob, _cy = authors
    with pytest.raises(PermissionDenied):
        contact_consent_record(
            actor=request.getfixturevalue(who), imprint=imprint_a, contact=ann, consent=True
        )
    assert not ContactConsent.objects.exists()
    assert not AuditEvent.objects.filter(verb="setup.contact_consent_recorded").exists()
