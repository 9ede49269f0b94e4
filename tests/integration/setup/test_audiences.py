"""Audiences from the mirror and from CSV uploads; safe exports; Exstream segments."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from integration.lib.csv import spreadsheet_safe
from integration.models import Audience, AudienceMember, Contact
from integration.setup.audiences import (
    audience_count,
    audience_export_csv,
    audience_list_upload,
    audience_recipients,
)
from tests.factories import AudienceFactory, ContactFactory, ContributionFactory, WorkFactory

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    b"email,name,country,consent,channel\n"
    b"ann@readers.test,Ann Reader,GB,yes,email\n"
    b"bob@readers.test,Bob Reader,fr,no,print\n"
    b",Cy Post,DE,no,print\n"
)


def test_contributors_by_role_for_one_title(imprint_a, imprint_b):
    work = WorkFactory.create(imprint=imprint_a)
    other = WorkFactory.create(imprint=imprint_a)
    author = ContactFactory.create(name="Ann Author")
    illustrator = ContactFactory.create(name="Ivy Illustrator")
    ContributionFactory.create(work=work, contact=author, role="A01")
    ContributionFactory.create(work=work, contact=illustrator, role="A12")
    ContributionFactory.create(
        work=other, contact=ContactFactory.create(name="Other Author"), role="A01"
    )
    ContributionFactory.create(
        work=WorkFactory.create(imprint=imprint_b), contact=ContactFactory.create(name="B")
    )
    audience = AudienceFactory.create(imprint=imprint_a, contributor_roles=["A01"])
    names = [r.name for r in audience_recipients(audience=audience, work=work)]
    assert names == ["Ann Author"]
    assert audience_count(audience=audience) == 2  # every A01 of the imprint, not imprint B
    recipient = next(audience_recipients(audience=audience, work=work))
    assert recipient.contact_id == author.pk and recipient.consent is None
    assert recipient.email == "ann.author@authors.test"


def test_organisations_by_type_and_territory(imprint_a, territories):
    org = Contact.Kind.ORGANISATION
    ContactFactory.create(name="Books Ltd", kind=org, organisation_type="retailer", country="GB")
    ContactFactory.create(name="Livres SA", kind=org, organisation_type="retailer", country="FR")
    ContactFactory.create(name="City Library", kind=org, organisation_type="library", country="FR")
    ContactFactory.create(
        name="Gone",
        kind=org,
        organisation_type="retailer",
        country="FR",
        withdrawn_at="2026-01-01T00:00Z",
    )
    audience = AudienceFactory.create(
        imprint=imprint_a,
        kind=Audience.Kind.ORGANISATIONS,
        organisation_types=["retailer", "library"],
        territory_code="EU",
    )
    assert [r.name for r in audience_recipients(audience=audience)] == ["City Library", "Livres SA"]


def test_upload_good_csv_then_stream(admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    assert (
        audience_list_upload(actor=admin_a, audience=audience, filename="m.csv", data=GOOD_CSV) == 3
    )
    recipients = list(audience_recipients(audience=audience))
    assert [(r.email, r.country, r.consent, r.channel_preference) for r in recipients] == [
        ("ann@readers.test", "GB", True, "email"),
        ("bob@readers.test", "FR", False, "print"),
        ("", "DE", False, "print"),
    ]
    assert AuditEvent.objects.filter(verb="setup.audience_list_uploaded").count() == 1


def test_bad_csv_names_row_and_column_and_stores_nothing(admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    audience_list_upload(actor=admin_a, audience=audience, filename="m.csv", data=GOOD_CSV)
    bad = (
        b"email,name,country,consent,channel\n"
        b"ann@readers.test,Ann,GB,yes,email\n"
        b"not-an-email,Bob,GB,yes,email\n"
        b"cy@readers.test,,GBR,maybe,pigeon\n"
        b"ann@readers.test,Ann Again,GB,yes,email\n"
    )
    with pytest.raises(ValidationError) as err:
        audience_list_upload(actor=admin_a, audience=audience, filename="bad.csv", data=bad)
    messages = err.value.messages
    assert "Row 3, column 'email': 'not-an-email' is not an e-mail address." in messages
    assert "Row 4, column 'name': a name is required." in messages
    assert "Row 4, column 'country': 'GBR' is not a 2-letter code." in messages
    assert "Row 4, column 'consent': 'maybe' must be yes or no." in messages
    assert any(m.startswith("Row 4, column 'channel': 'pigeon'") for m in messages)
    assert "Row 5, column 'email': ann@readers.test already appears on row 2." in messages
    # The earlier good list is untouched.
    assert AudienceMember.objects.filter(audience=audience).count() == 3
    audience.refresh_from_db()
    assert audience.list_filename == "m.csv"


def test_missing_header_and_wrong_encoding(admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    with pytest.raises(ValidationError, match="missing column"):
        audience_list_upload(
            actor=admin_a, audience=audience, filename="x.csv", data=b"email,name\na@b.test,A\n"
        )
    with pytest.raises(ValidationError, match="not UTF-8"):
        audience_list_upload(
            actor=admin_a,
            audience=audience,
            filename="x.csv",
            data="email,name,country,consent,channel\n\xe9".encode("latin-1"),
        )
    assert not AudienceMember.objects.exists()


def test_export_neutralises_spreadsheet_formulas(admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    data = (
        b"email,name,country,consent,channel\n"
        b'evil@readers.test,"=HYPERLINK(""http://x"")",GB,yes,email\n'
        b"plus@readers.test,+44 Caller,GB,no,print\n"
    )
    audience_list_upload(actor=admin_a, audience=audience, filename="m.csv", data=data)
    text = "".join(audience_export_csv(audience=audience))
    assert "'=HYPERLINK" in text
    assert "'+44 Caller" in text
    for bad in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(bad + "x").startswith("'")
    assert spreadsheet_safe("Plain") == "Plain"


def test_exstream_segment_count_is_unknown(imprint_a):
    audience = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.SEGMENT, segment_id="SEG-9"
    )
    assert audience_count(audience=audience) is None
    assert list(audience_recipients(audience=audience)) == []


def test_audience_validation(imprint_a, territories):
    with pytest.raises(ValidationError) as err:
        Audience(
            imprint=imprint_a, name="S", kind=Audience.Kind.SEGMENT, territory_code="XX"
        ).full_clean()
    assert set(err.value.message_dict) == {"segment_id", "territory_code"}
    with pytest.raises(ValidationError, match="organisation type"):
        Audience(imprint=imprint_a, name="O", kind=Audience.Kind.ORGANISATIONS).full_clean()
