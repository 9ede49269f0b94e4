"""Seed a demo communication setup for the demo imprints (idempotent).

Templates bind to sandbox Exstream communications BY NAME; a template whose communication has
not been synced yet is skipped and reported (run the Exstream catalogue sync, then re-run this).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.audit import log_action
from accounts.models import Imprint
from integration.management.demo_lists import LISTS
from integration.models import (
    Audience,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    Contact,
    ContactConsent,
    ExstreamCommunication,
    FieldMapping,
    TriggerRule,
)
from integration.setup.audiences import audience_list_upload, contact_consent_record
from integration.setup.mappings import suggest_context_field, suggested_transforms

DEMO_IMPRINTS = ["harbour", "northwind", "acorn"]

# (communication type code, Exstream communication name, channels, territory, language, locale)
TEMPLATES = [
    ("rights-confirmation", "Rights confirmation letter", ["print", "email"], "", "", "en-GB"),
    ("permission-letter", "Permission letter", ["print", "email"], "", "", "en-GB"),
    ("licence-renewal", "Licence renewal", ["print", "email"], "", "", "en-GB"),
    ("royalty-statement", "Royalty statement", ["print", "email", "web"], "", "", "en-GB"),
    ("royalty-statement", "Royalty statement", ["print", "email", "web"], "US", "", "en-US"),
    ("launch-announcement", "Launch announcement e-mail", ["email"], "", "", "en-GB"),
    ("launch-email", "Launch announcement e-mail", ["email"], "", "", "en-GB"),
    ("post-launch-follow-up", "Launch announcement e-mail", ["email"], "", "", "en-GB"),
    ("proof-approval", "Proof approval", ["email", "print"], "", "", "en-GB"),
    ("review-request", "Review request", ["email"], "", "", "en-GB"),
    ("cover-copy-confirmation", "Cover copy confirmation", ["email"], "", "", "en-GB"),
    ("publication-notification", "Publication notification", ["email", "print"], "", "", "en-GB"),
    ("publication-delay-letter", "Publication delay letter", ["print", "email"], "", "", "en-GB"),
    ("retailer-notice", "Retailer notice", ["email"], "", "", "en-GB"),
    ("catalogue-update", "Catalogue update", ["email"], "", "", "en-GB"),
    ("member-renewal-notice", "Member renewal notice", ["email", "print"], "", "", "en-GB"),
    ("approval-notice", "Approval notice", ["email"], "", "", "en-GB"),
    ("contributor-request", "Contributor request", ["email"], "", "", "en-GB"),
    ("advance-reader-communication", "Advance reader communication", ["email"], "", "", "en-GB"),
    ("metadata-change-notice", "Metadata change notice", ["email"], "", "", "en-GB"),
    ("release-alert", "Release alert", ["email"], "", "", "en-GB"),
    ("delay-notice", "Customer-service delay notice", ["email", "print"], "", "", "en-GB"),
    ("out-of-stock-notice", "Customer-service out-of-stock notice", ["email"], "", "", "en-GB"),
    (
        "format-substitution-notice",
        "Customer-service format-substitution notice",
        ["email"],
        "",
        "",
        "en-GB",
    ),
    ("revised-date-notice", "Customer-service revised-date notice", ["email"], "", "", "en-GB"),
]

# Per design: driver fields the demo leaves optional, and why each may be blank for some
# recipients. Every other field of a design's driver sample is required (the template decides
# required-ness; the reference puts it in template setup), so each is mapped below.
OPTIONAL: dict[str, dict[str, str]] = {
    "Permission letter": {
        "permissionFee": "many permissions are granted free of charge; Colophon holds no fee",
    },
    "Proof approval": {
        "proofLink": "proofs may go on paper; the drafter gives a link only for online proofs",
    },
    "Member renewal notice": {
        "membershipNumber": "uploaded member lists have no membership-number column",
    },
    "Catalogue update": {"highlights": "a season's update may carry no highlighted titles"},
    "Customer-service out-of-stock notice": {
        "expectedDate": "when stock returns is often unknown",
        "orderReference": "Colophon holds no order data; a notice to a list goes without one",
    },
    "Customer-service delay notice": {
        "orderReference": "Colophon holds no order data; a notice to a list goes without one",
    },
    "Customer-service format-substitution notice": {
        "orderReference": "Colophon holds no order data; a notice to a list goes without one",
    },
    "Customer-service revised-date notice": {
        "orderReference": "Colophon holds no order data; a notice to a list goes without one",
    },
}
# Per design: a context field other than the name-based suggestion.
OVERRIDES: dict[str, dict[str, str | None]] = {
    # a member's renewal is not a contract's: renew within thirty days of the notice
    "Member renewal notice": {"renewalDate": "dates.today_plus_30"},
    "Customer-service out-of-stock notice": {
        "expectedDate": None,
        "orderReference": "campaign.code",
    },
    # Consonance's API notes list an inhouseCustomerId on contacts, but the documented SDL has no
    # such field, so Colophon has no trade account number: the design requires one, and gets the
    # recipient's reference (the list row's, or the contact's id), as in flow 5's scenario.
    "Retailer notice": {"retailerAccount": "recipient.reference"},
    # the link the drafter gives for online proofs (optional: proofs may go on paper)
    "Proof approval": {"proofLink": "campaign.link"},
    # every change of the notice's period, old → new (flow 7), not just the kinds of change
    "Metadata change notice": {"changedFields": "changes.period"},
    # Colophon holds no order data, so the order reference is the communication's campaign
    # code (one reference per batch of orders), as in flow 6's scenario; a notice to a list of
    # readers goes without one (optional here and in the sandbox's designs).
    "Customer-service delay notice": {"orderReference": "campaign.code"},
    "Customer-service format-substitution notice": {"orderReference": "campaign.code"},
    "Customer-service revised-date notice": {"orderReference": "campaign.code"},
}

AUDIENCES: list[tuple[str, str, dict[str, Any]]] = [
    ("Authors of the title", Audience.Kind.CONTRIBUTORS, {"contributor_roles": ["A01"]}),
    ("All contributors of the title", Audience.Kind.CONTRIBUTORS, {}),
    # Consonance has no organisation type or marketing consent on a contact, so trade,
    # library, agent and member audiences are uploaded lists (demo_lists says more).
    # the partners who get the weekly metadata change notices (flow 7's weekly schedule)
    ("Retailers and wholesalers", Audience.Kind.UPLOADED, {"weekly_partner_notices": True}),
    ("Libraries", Audience.Kind.UPLOADED, {}),
    ("Agents", Audience.Kind.UPLOADED, {}),
    ("Licensees", Audience.Kind.ORGANISATIONS, {"organisation_types": ["licensee"]}),
    ("Book club members", Audience.Kind.UPLOADED, {}),
    # No Exstream segment audience: the Exstream reference documents no segments, and the
    # sandbox resolves none, so the demo would only show a stand-in recipient.
]

RULES: list[dict[str, Any]] = [
    {
        "name": "EU marketing carries the data-protection notice",
        "kind": ComplianceRule.Kind.REQUIRED_FIELD,
        "territory_code": "EU",
        "categories": ["marketing"],
        "required_field": "dataProtectionNotice",
        "message": "EU marketing must include the data-protection notice.",
    },
    {
        "name": "Marketing e-mail only with consent",
        "kind": ComplianceRule.Kind.CONSENT_REQUIRED,
        "categories": ["marketing"],
        "channels": ["email"],
    },
    {
        "name": "US royalty statements note withholding tax",
        "kind": ComplianceRule.Kind.REQUIRED_FIELD,
        "territory_code": "US",
        "categories": ["royalties"],
        "required_field": "withholdingTaxNote",
        "severity": ComplianceRule.Severity.WARNING,
    },
    {
        "name": "Marketing on weekdays, 9 to 6",
        "kind": ComplianceRule.Kind.SENDING_WINDOW,
        "categories": ["marketing"],
        "weekdays": [0, 1, 2, 3, 4],
        "start_hour": 9,
        "end_hour": 18,
        "severity": ComplianceRule.Severity.WARNING,
    },
]

# (name, event, extra, type code, audience name)
TRIGGERS: list[tuple[str, str, dict[str, Any], str, str]] = [
    (
        "Delay letter when publication date moves",
        "publication_date",
        {},
        "publication-delay-letter",
        "All contributors of the title",
    ),
    (
        "Approval notice when the title is approved",
        "project_stage",
        {"match_value": "Approved"},
        "approval-notice",
        "All contributors of the title",
    ),
    (
        "Proof approval 14 days before proofs are due",
        "delivery_due",
        {"days_before": 14, "deliverable_type": "Proofs"},
        "proof-approval",
        "Authors of the title",
    ),
    (
        "Licence renewal 60 days before contract review",
        "contract_review",
        {"days_before": 60},
        "licence-renewal",
        "Licensees",
    ),
    (
        "Royalty statements when royalty lines arrive",
        "royalties_imported",
        {},
        "royalty-statement",
        "Authors of the title",
    ),
    (
        "Retailer notice when availability changes",
        "availability",
        {},
        "retailer-notice",
        "Retailers and wholesalers",
    ),
    (
        "Release alert when a title is published",
        "publishing_status",
        {"match_value": "04"},
        "release-alert",
        "Retailers and wholesalers",
    ),
    (
        "Post-launch follow-up 14 days after publication",
        "post_publication",
        {"days_before": 14},
        "post-launch-follow-up",
        "Book club members",
    ),
]


# Context fields that are blank for some recipients of a seeded template, so the driver fields
# they fill are optional there: print recipients may have no e-mail and e-mail recipients no
# address; a statement drafted from a royalty import carries its totals, while the breakdown
# (earned, brought and carried forward, withheld, notes) exists only on a payee's statement.
OPTIONAL_CONTEXT = frozenset(
    {
        "recipient.email",
        "recipient.address",
        "statement.earned",
        "statement.brought_forward",
        "statement.carried_forward",
        "statement.withheld",
        "statement.notes",
    }
)


class Command(BaseCommand):
    help = "Seed demo templates, mappings, audiences, compliance and trigger rules per imprint."

    def handle(self, *args: Any, **options: Any) -> None:
        imprints = list(Imprint.objects.filter(code__in=DEMO_IMPRINTS))
        if not imprints:
            self.stdout.write(self.style.WARNING("No demo imprints; run seed_demo first."))
            return
        types = {t.code: t for t in CommunicationType.objects.all()}
        skipped: set[str] = set()
        with transaction.atomic():
            for imprint in imprints:
                audiences = self._audiences(imprint)
                self._author_consents(imprint)
                made = self._templates(imprint, types, skipped)
                self._rules(imprint)
                self._triggers(imprint, types, audiences)
                log_action(
                    actor=None,
                    verb="setup.seeded",
                    target=imprint,
                    imprint=imprint,
                    data={"templates": made},
                )
                self.stdout.write(
                    f"{imprint.name}: {made} templates, {len(audiences)} audiences, "
                    f"{len(RULES)} compliance rules, {len(TRIGGERS)} triggers."
                )
        for name in sorted(skipped):
            self.stdout.write(
                self.style.WARNING(
                    f"Skipped templates for '{name}': that Exstream communication is not synced "
                    "yet. Sync the Exstream catalogue, then run seed_setup again."
                )
            )

    def _audiences(self, imprint: Imprint) -> dict[str, Audience]:
        out = {}
        for name, kind, extra in AUDIENCES:
            listed = LISTS.get(name)
            defaults: dict[str, Any] = {"kind": kind, **extra}
            if listed:
                defaults["description"] = listed[0]
            out[name], _ = Audience.objects.update_or_create(
                imprint=imprint, name=name, defaults=defaults
            )
            if listed and not out[name].members.exists():
                # through the same upload staff use (checked row by row, audited)
                audience_list_upload(
                    actor=None, audience=out[name], filename=listed[1], data=listed[2]
                )
        return out

    def _author_consents(self, imprint: Imprint) -> None:
        """The imprint's authors agreed (in the demo's author agreements) to hear about their
        titles' marketing; recorded once, so a later change by staff survives re-seeding."""
        recorded = ContactConsent.objects.filter(imprint=imprint).values("contact_id")
        authors = (
            Contact.objects.filter(
                contributions__work__imprint=imprint,
                contributions__role="A01",
                withdrawn_at__isnull=True,
            )
            .exclude(pk__in=recorded)
            .distinct()
            .order_by("pk")
        )
        for contact in authors:
            contact_consent_record(
                actor=None,
                imprint=imprint,
                contact=contact,
                consent=True,
                note="Agreed in the author agreement to news about their titles.",
            )

    def _templates(
        self, imprint: Imprint, types: dict[str, CommunicationType], skipped: set[str]
    ) -> int:
        made = 0
        for code, exstream_name, channels, territory, language, locale in TEMPLATES:
            comm = (
                ExstreamCommunication.objects.filter(name__iexact=exstream_name, active=True)
                .order_by("-synced_at")
                .first()
            )
            if comm is None:
                skipped.add(exstream_name)
                continue
            offered = set(comm.channels or [])
            usable = [c for c in channels if not offered or c in offered] or sorted(offered)[:1]
            name = f"{types[code].name}{f' ({territory})' if territory else ''}"
            template, _ = CommunicationTemplate.objects.update_or_create(
                imprint=imprint,
                name=name,
                version=1,
                defaults={
                    "communication_type": types[code],
                    "exstream_communication": comm,
                    "channels": usable,
                    "territory_code": territory,
                    "language": language,
                    "locale": locale,
                    "effective_from": datetime.date(2026, 1, 1),
                    "status": CommunicationTemplate.Status.ACTIVE,
                },
            )
            names = {f["name"] for f in comm.driver_fields}
            optional = [f for f in OPTIONAL.get(comm.name, {}) if f in names]
            overrides = OVERRIDES.get(comm.name, {})
            for field in comm.driver_fields:
                if field["name"] == template.customer_key_path:
                    continue  # Colophon writes its message key there
                if field["name"] in overrides:
                    context_field = overrides[field["name"]]
                else:
                    context_field = suggest_context_field(field["name"])
                if context_field is None:
                    FieldMapping.objects.filter(
                        template=template, driver_field=field["name"]
                    ).delete()
                    continue
                if context_field in OPTIONAL_CONTEXT:
                    optional.append(field["name"])
                FieldMapping.objects.update_or_create(
                    template=template,
                    driver_field=field["name"],
                    defaults={
                        "context_field": context_field,
                        "transforms": suggested_transforms(context_field, field["name"]),
                        "required": False,
                    },
                )
            if optional != template.optional_driver_fields:
                template.optional_driver_fields = optional
                template.save(update_fields=["optional_driver_fields"])
            made += 1
        return made

    def _rules(self, imprint: Imprint) -> None:
        for rule in RULES:
            ComplianceRule.objects.update_or_create(
                imprint=imprint,
                name=rule["name"],
                defaults={k: v for k, v in rule.items() if k != "name"},
            )

    def _triggers(
        self, imprint: Imprint, types: dict[str, CommunicationType], audiences: dict[str, Audience]
    ) -> None:
        for name, event, extra, code, audience in TRIGGERS:
            TriggerRule.objects.update_or_create(
                imprint=imprint,
                name=name,
                defaults={
                    "event": event,
                    "communication_type": types[code],
                    "audience": audiences[audience],
                    **extra,
                },
            )
