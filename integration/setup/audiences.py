"""Audiences: recipients from the catalogue mirror, from uploaded lists, or an Exstream segment.

``audience_recipients`` streams (``iterator(chunk_size=…)``) so a 100k list never sits in memory.
Uploaded CSV files are checked row by row; a bad file stores nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Max, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint, Territory
from accounts.types import Actor, person
from integration.lib.csv import spreadsheet_safe
from integration.models import (
    Audience,
    AudienceMember,
    Channel,
    Communication,
    Contact,
    ContactConsent,
    Contribution,
    Work,
)
from integration.models.status import REMINDER_KEY
from integration.setup.changes import setup_changed

CHUNK = 2000
CSV_COLUMNS = ["email", "name", "country", "consent", "channel"]
MAX_ROWS = 500_000


@dataclass(frozen=True)
class Recipient:
    key: str
    name: str
    email: str
    address: str
    country: str
    channel_preference: str
    consent: bool | None  # None: not known (contacts from Consonance)
    contact_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reminder_audience_ids() -> QuerySet[Communication, Any]:
    """The one-person lists ``contributor_action_remind`` makes for a single reminder (the
    audiences of reminders): they belong to that reminder, so no picker offers them and no
    trigger rule may send to them."""
    return Communication.objects.filter(
        campaign__has_key=REMINDER_KEY, audience_id__isnull=False
    ).values("audience_id")


def _address(addresses: list[Any]) -> str:
    if not addresses:
        return ""
    first = addresses[0]
    if isinstance(first, dict):
        parts = [
            str(first.get(k) or "")
            for k in ("line1", "line2", "line3", "city", "town", "postcode", "region", "country")
        ]
        return "\n".join(p for p in parts if p)
    return str(first)


def recipient_address(addresses: list[Any]) -> str:
    """A contact's first postal address, one line per part."""
    return _address(addresses)


def _from_contact(contact: Contact) -> Recipient:
    return Recipient(
        key=f"contact:{contact.pk}",
        name=contact.name,
        email=contact.email,
        address=_address(contact.addresses),
        country=contact.country,
        channel_preference="email" if contact.emails else "print",
        # recorded in Colophon per imprint (Consonance records no consent); None: not known
        consent=getattr(contact, "recorded_consent", None),
        contact_id=contact.pk,
    )


def _contacts(audience: Audience, work: Work | None) -> Any:
    if audience.kind == Audience.Kind.CONTRIBUTORS:
        contributions = Contribution.objects.filter(work__imprint_id=audience.imprint_id)
        if work is not None:
            contributions = contributions.filter(work=work)
        if audience.contributor_roles:
            contributions = contributions.filter(role__in=audience.contributor_roles)
        qs = Contact.objects.filter(
            pk__in=contributions.values("contact_id"), withdrawn_at__isnull=True
        )
    else:
        qs = Contact.objects.filter(
            kind=Contact.Kind.ORGANISATION,
            organisation_type__in=audience.organisation_types,
            withdrawn_at__isnull=True,
        )
    if audience.territory_code:
        qs = qs.filter(country__in=_countries(audience.territory_code))
    consent = ContactConsent.objects.filter(imprint_id=audience.imprint_id, contact=OuterRef("pk"))
    qs = qs.annotate(recorded_consent=Subquery(consent.values("consent")[:1]))
    return qs.order_by("name", "id")


def _countries(code: str) -> list[str]:
    territory = Territory.objects.filter(code=code).first()
    if territory is None or territory.kind == Territory.Kind.COUNTRY:
        return [code]
    if territory.code == "WORLD":
        return list(Territory.objects.filter(kind="country").values_list("code", flat=True))
    return list(territory.members.values_list("code", flat=True))


def _members(audience: Audience) -> Any:
    qs = audience.members.order_by("row_number")
    if audience.territory_code:
        qs = qs.filter(country__in=_countries(audience.territory_code))
    return qs


def audience_members_version(audience: Audience) -> str:
    """A cheap version of an uploaded list's members (one aggregate query): their count and
    id range after the territory filter, with the territory's countries. Colophon never edits
    a member in place: an upload replaces the whole list (new ids) and members are otherwise
    only added, so any change to the list moves this version."""
    countries = _countries(audience.territory_code) if audience.territory_code else []
    agg = _members(audience).order_by().aggregate(n=Count("id"), lo=Min("id"), hi=Max("id"))
    return f"{agg['n']}:{agg['lo']}:{agg['hi']}:{','.join(sorted(countries))}"


def audience_recipients(*, audience: Audience, work: Work | None = None) -> Iterator[Recipient]:
    """Stream the audience's recipients. An Exstream segment has none here: Exstream resolves
    it when the communication is sent; a royalty import's payees are the statements of the
    communication's import (``communications.statements``)."""
    if audience.kind in (Audience.Kind.SEGMENT, Audience.Kind.ROYALTY_PAYEES):
        return
    if audience.kind == Audience.Kind.UPLOADED:
        rows = _members(audience).values_list(
            "pk", "name", "email", "address", "country", "channel_preference", "consent"
        )
        for pk, name, email, address, country, channel, consent in rows.iterator(chunk_size=CHUNK):
            yield Recipient(
                key=f"member:{pk}",
                name=name,
                email=email,
                address=address,
                country=country,
                channel_preference=channel,
                consent=consent,
                contact_id=None,
            )
        return
    for contact in _contacts(audience, work).iterator(chunk_size=CHUNK):
        yield _from_contact(contact)


def audience_count(*, audience: Audience, work: Work | None = None) -> int | None:
    """How many recipients; ``None`` for an Exstream segment (unknown until sent) and for a
    royalty import's payees (known per import, once its statements are prepared)."""
    if audience.kind in (Audience.Kind.SEGMENT, Audience.Kind.ROYALTY_PAYEES):
        return None
    if audience.kind == Audience.Kind.UPLOADED:
        return int(_members(audience).count())
    return int(_contacts(audience, work).count())


def audience_sample(
    *, audience: Audience, work: Work | None = None, n: int = 10
) -> list[Recipient]:
    out = []
    for recipient in audience_recipients(audience=audience, work=work):
        out.append(recipient)
        if len(out) >= n:
            break
    return out


# --- Consent of Consonance contacts -----------------------------------------------------------


def contact_consent_record(
    *, actor: Actor, imprint: Imprint, contact: Contact, consent: bool, note: str = ""
) -> ContactConsent:
    """Record whether a contact (an author, say) agreed to marketing mail from the imprint,
    replacing what was recorded before. Consonance keeps no consent, so Colophon does."""
    if person(actor) is not None:  # a system actor (a demo seed, an import) may record it
        policy.require(actor, policy.Action.IMPORT, imprint)
    with transaction.atomic():
        record, _ = ContactConsent.objects.update_or_create(
            imprint=imprint,
            contact=contact,
            defaults={
                "consent": consent,
                "note": note[:300],
                "recorded_by": person(actor),
                "recorded_at": timezone.now(),
            },
        )
        log_action(
            actor=actor,
            verb="setup.contact_consent_recorded",
            target=contact,
            imprint=imprint,
            data={"consent": consent, "note": note[:300]},
        )
    return record


# --- Uploaded lists ----------------------------------------------------------------------------


@dataclass
class ParsedList:
    rows: list[AudienceMember]
    errors: list[str]


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def parse_member_csv(data: bytes) -> ParsedList:
    """Check every row; each error names the row (as numbered in a spreadsheet) and column."""
    errors: list[str] = []
    rows: list[AudienceMember] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedList([], ["The file is not UTF-8 text; save it as 'CSV UTF-8' and retry."])
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return ParsedList(
            [],
            [
                f"Row 1 (header): missing column(s) {', '.join(missing)}; "
                f"expected {', '.join(CSV_COLUMNS)}."
            ],
        )
    reader.fieldnames = header
    seen: dict[str, int] = {}
    channels = {c.value for c in Channel}
    for i, raw in enumerate(reader, start=2):
        if i - 1 > MAX_ROWS:
            errors.append(f"The file has more than {MAX_ROWS} rows; split it.")
            break
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        email = row["email"].lower()
        name = row["name"]
        country = row["country"].upper()
        consent = row["consent"].lower()
        channel = row["channel"].lower().replace("e-mail", "email")
        if not name:
            errors.append(f"Row {i}, column 'name': a name is required.")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(
                    f"Row {i}, column 'email': {row['email']!r} is not an e-mail address."
                )
            if email in seen:
                errors.append(
                    f"Row {i}, column 'email': {email} already appears on row {seen[email]}."
                )
            seen.setdefault(email, i)
        elif channel == "email":
            errors.append(f"Row {i}, column 'email': needed when the channel is email.")
        if country and (len(country) != 2 or not country.isalpha()):
            errors.append(f"Row {i}, column 'country': {row['country']!r} is not a 2-letter code.")
        if consent not in _YES | _NO:
            errors.append(f"Row {i}, column 'consent': {row['consent']!r} must be yes or no.")
        if channel and channel not in channels:
            errors.append(
                f"Row {i}, column 'channel': {row['channel']!r} is not one of "
                f"{', '.join(sorted(channels))}."
            )
        rows.append(
            AudienceMember(
                row_number=i,
                email=email,
                name=name[:300],
                country=country[:2],
                consent=consent in _YES,
                channel_preference=channel if channel in channels else "",
                address=row.get("address", ""),
            )
        )
    if not rows and not errors:
        errors.append("The file has a header but no rows.")
    return ParsedList(rows if not errors else [], errors)


def audience_list_upload(*, actor: Actor, audience: Audience, filename: str, data: bytes) -> int:
    """Replace the audience's list with the file's rows, or — on any error — change nothing."""
    if audience.kind != Audience.Kind.UPLOADED:
        raise ValidationError("Only an 'uploaded list' audience takes a file.")
    parsed = parse_member_csv(data)
    if parsed.errors:
        raise ValidationError(parsed.errors)
    with transaction.atomic():
        audience.members.all().delete()
        for row in parsed.rows:
            row.audience = audience
        AudienceMember.objects.bulk_create(parsed.rows, batch_size=CHUNK)
        audience.list_filename = filename[:300]
        audience.list_uploaded_at = timezone.now()
        audience.save(update_fields=["list_filename", "list_uploaded_at", "updated_at"])
        log_action(
            actor=actor,
            verb="setup.audience_list_uploaded",
            target=audience,
            data={"filename": filename, "rows": len(parsed.rows)},
        )

        setup_changed(kind="audience", object_id=audience.pk)
    return len(parsed.rows)


def audience_export_csv(*, audience: Audience, work: Work | None = None) -> Iterator[str]:
    """CSV lines (streamable), every cell protected against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return value

    writer.writerow(["email", "name", "country", "consent", "channel", "address"])
    yield flush()
    for r in audience_recipients(audience=audience, work=work):
        consent = "" if r.consent is None else ("yes" if r.consent else "no")
        writer.writerow(
            [
                spreadsheet_safe(v)
                for v in (r.email, r.name, r.country, consent, r.channel_preference, r.address)
            ]
        )
        yield flush()
