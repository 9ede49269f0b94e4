"""The payload: each recipient's driver data (the template's mapping applied to the title
context plus the recipient's own fields), the compliance findings, and the payload hash.

The hash is built incrementally: a header (template, Exstream communication, channels,
audience) then each message's canonical JSON in sequence order. Approval binds that hash;
``communication_revalidate`` recomputes it from current data (writing nothing).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.policy import Category
from integration.communications.common import canonical_json
from integration.communications.statements import statement_recipients, statements_by_key
from integration.models import (
    Audience,
    Communication,
    CommunicationTemplate,
    FieldMapping,
    RoyaltyLine,
)
from integration.setup.audiences import Recipient, audience_members_version, audience_recipients
from integration.setup.context import RECIPIENT_FIELDS, build_context
from integration.setup.mappings import COLOPHON_SUPPLIED, build_driver_data
from integration.setup.transfer import setup_object_snapshot


@dataclass
class Payload:
    sequence: int
    recipient: Recipient
    channel: str
    driver_data: dict[str, Any]
    problems: list[str]
    canonical: str
    driver_json: str


@dataclass
class Composer:
    """Everything title-level, loaded once per compose; ``payloads()`` streams the messages."""

    communication: Communication
    template: CommunicationTemplate
    on_date: datetime.date
    title_context: dict[str, Any] = field(default_factory=dict)
    recipient_fields: list[Any] = field(default_factory=list)
    royalty_lines: dict[int, list[RoyaltyLine]] = field(default_factory=dict)
    channels: list[str] = field(default_factory=list)
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, communication: Communication, *, on_date: datetime.date) -> Composer:
        template = communication.template
        if template is None:
            raise ValidationError("No template applies to this communication.")
        # Fresh template with its mappings (a cached compile must not outlive a change); the
        # mappings read once, here, for everything the composer does with them.
        template = (
            CommunicationTemplate.objects.select_related("exstream_communication")
            .prefetch_related("mappings")
            .get(pk=template.pk)
        )
        context = build_context(
            work=communication.work,
            product=communication.product,
            contract=communication.contract,
            offer=communication.offer,
            campaign=communication.campaign,
            territory=communication.territory_code,
            today=on_date,
            communication_type=communication.communication_type,
            period=(communication.period_start, communication.period_end),
        )
        context["today"] = on_date
        context["imprint.name"] = communication.imprint.name
        used = {m.context_field for m in template.mappings.all()}
        composer = cls(
            communication=communication,
            template=template,
            on_date=on_date,
            title_context=context,
            recipient_fields=[f for f in RECIPIENT_FIELDS if f.key in used],
            channels=list(communication.channels or template.channels or ["print"]),
        )
        audience = communication.audience
        if audience is not None and audience.kind == Audience.Kind.ROYALTY_PAYEES:
            # One recipient per prepared statement, with that statement's own lines.
            composer.statements = statements_by_key(communication.royalty_import_id)
        elif communication.royalty_import_id and any(
            f.group == "royalty" for f in composer.recipient_fields
        ):
            lines = RoyaltyLine.objects.filter(royalty_import_id=communication.royalty_import_id)
            if communication.work_id:
                # A statement about a title carries that title's lines (each line's contract
                # names its work): the trigger drafts one per title, and each must not repeat
                # the payee's other titles. A payee's whole statement is the prepared one
                # (an audience of the import's payees, above).
                lines = lines.filter(contract__work_id=communication.work_id)
            for line in lines.order_by("payee_consonance_id", "period_start", "isbn13", "id"):
                if line.payee_id is not None:
                    composer.royalty_lines.setdefault(line.payee_id, []).append(line)
        return composer

    def header(self) -> str:
        c = self.communication
        return canonical_json(
            {
                "communication": c.pk,
                # The template's and the audience's content, never when they were saved: any
                # change to them voids an approval, a save that changes nothing does not.
                # Mapping and recipient changes show in each message's driver data below.
                "template": [self.template.pk, setup_object_snapshot(self.template)],
                "exstream": self.template.exstream_communication.communication_id,
                "channels": self.channels,
                "audience": [
                    c.audience_id,
                    setup_object_snapshot(c.audience) if c.audience else {},
                ],
                "offer": c.offer,
                "campaign": c.campaign,
                **(
                    {"period": [str(c.period_start), str(c.period_end)]}
                    if c.period_start or c.period_end
                    else {}
                ),
            }
        )

    @property
    def queries_per_recipient(self) -> bool:
        """Whether building a payload may read the database (royalty lines and statements are
        model rows whose fields may load more); otherwise it is pure computation over the
        recipient and what ``load`` read (compliance rules come preloaded)."""
        return bool(self.royalty_lines or self.statements)

    def input_versions(self) -> dict[str, str]:
        """Content versions of every input the payload is built from, taken from what this
        composer loaded (a few queries, nothing per recipient): the header (template,
        Exstream communication, channels, audience settings, offer, campaign, period), the
        template with its mappings, the title context, and the audience's members. Empty when
        an input has no cheap version (contacts from Consonance, royalty lines and statements):
        then every check recomputes the payload, as before versions existed."""
        c = self.communication
        audience = c.audience
        if audience is None or c.royalty_import_id or self.statements or self.royalty_lines:
            return {}
        if audience.kind == Audience.Kind.UPLOADED:
            members = audience_members_version(audience)
        elif audience.kind == Audience.Kind.SEGMENT:
            members = "segment"  # one recipient from the audience's own fields (in the header)
        else:
            return {}
        template = self.template
        setup = [
            setup_object_snapshot(template),
            template.customer_key_path,
            template.required_driver_fields,
            setup_object_snapshot(template.exstream_communication),
            # == list(template.mappings.order_by("pk").values()), from the mappings ``load``
            # read (no second query).
            [
                {f.attname: getattr(m, f.attname) for f in FieldMapping._meta.concrete_fields}
                for m in sorted(template.mappings.all(), key=lambda m: m.pk)
            ],
        ]

        def digest(value: Any) -> str:
            return hashlib.sha256(canonical_json(value).encode()).hexdigest()

        return {
            "header": digest(self.header()),
            "template": digest(setup),
            "title": digest(self.title_context),
            "audience": members,
        }

    def recipients(self) -> Iterator[Recipient]:
        audience = self.communication.audience
        assert audience is not None
        if audience.kind == Audience.Kind.ROYALTY_PAYEES:
            yield from statement_recipients(royalty_import_id=self.communication.royalty_import_id)
            return
        if audience.kind == Audience.Kind.SEGMENT:
            yield Recipient(
                key=f"segment:{audience.segment_id}",
                name=audience.segment_name or audience.name,
                email="",
                address="",
                country=self.communication.territory_code[:2],
                channel_preference="",
                consent=None,
                contact_id=None,
            )
            return
        marketing = self.communication.communication_type.category == Category.MARKETING
        for recipient in audience_recipients(audience=audience, work=self.communication.work):
            # Marketing goes only to members who consented: a list row whose consent column
            # says no is left out (not composed, not sent, not counted). Contacts from
            # Consonance carry no consent (None) and are kept; compliance rules still apply.
            if marketing and recipient.consent is False:
                continue
            yield recipient

    def _split_mappings(self) -> tuple[dict[str, Any], list[str], Any]:
        """Map the title-level fields once; per recipient only the recipient-level mappings
        run. Exactly what ``build_driver_data`` over the whole context would produce."""
        template = self.template
        mappings = list(template.mappings.all())
        levels = {f.key: f.level for f in RECIPIENT_FIELDS}
        per_recipient = [m for m in mappings if levels.get(m.context_field) == "recipient"]
        per_title = [m for m in mappings if m not in per_recipient]
        # The customer key is Colophon's own (the message key), added to every record at send.
        required = set(template.required_driver_fields) - COLOPHON_SUPPLIED
        recipient_names = {m.driver_field for m in per_recipient}
        title_part = SimpleNamespace(
            _compiled_mappings=per_title,
            _required_driver=required - recipient_names,
            locale=template.locale,
        )
        recipient_part = SimpleNamespace(
            _compiled_mappings=per_recipient,
            _required_driver=required & recipient_names,
            locale=template.locale,
        )
        title_data, title_problems = build_driver_data(
            template=title_part,  # type: ignore[arg-type]
            context=self.title_context,
        )
        return title_data, title_problems, recipient_part

    def payloads(
        self, recipients: Iterable[Recipient] | None = None, *, start: int = 1
    ) -> Iterator[Payload]:
        """The messages, in sequence from ``start``: of every recipient, or of ``recipients``
        (a slice of ``recipients()`` read beforehand). The title-level mapping runs here, at
        once; building each message after that runs no query unless the composer holds
        royalty lines or statements (``queries_per_recipient``)."""
        split = self._split_mappings()
        return self._payloads(split, self.recipients() if recipients is None else recipients, start)

    def _payloads(
        self,
        split: tuple[dict[str, Any], list[str], Any],
        recipients: Iterable[Recipient],
        start: int,
    ) -> Iterator[Payload]:
        fields = self.recipient_fields
        channels = self.channels
        default_channel = channels[0]
        royalty = self.royalty_lines
        dumps = canonical_json
        title_data, title_problems, recipient_part = split
        channel_jsons: dict[str, str] = {}
        for sequence, recipient in enumerate(recipients, start=start):
            src = self.statements.get(recipient.key) or {
                "royalty_lines": royalty.get(recipient.contact_id or 0, []),
            }
            src = {**src, "recipient": recipient}
            context = {f.key: f.resolver(src) for f in fields}
            own, own_problems = build_driver_data(template=recipient_part, context=context)
            driver_data = {**title_data, **own}
            problems = title_problems + own_problems if title_problems else own_problems
            pref = recipient.channel_preference
            channel = pref if pref in channels else default_channel
            driver_json = dumps(driver_data)
            # == canonical_json([sequence, recipient.key, channel, driver_data]), encoding the
            # driver data once for both the hash and the stored row (each channel once).
            channel_json = channel_jsons.get(channel)
            if channel_json is None:
                channel_json = channel_jsons[channel] = dumps(channel)
            canonical = f"[{sequence},{dumps(recipient.key)},{channel_json},{driver_json}]"
            yield Payload(
                sequence, recipient, channel, driver_data, problems, canonical, driver_json
            )


def payload_hash_compute(*, communication: Communication, on_date: datetime.date) -> str:
    """The payload hash from current data, writing nothing."""
    return payload_hash_and_versions(communication=communication, on_date=on_date)[0]


def payload_hash_and_versions(
    *, communication: Communication, on_date: datetime.date
) -> tuple[str, dict[str, str]]:
    """The payload hash from current data and the versions of the inputs it was built from
    (taken before the recipients are read: if an input moves meanwhile, the versions are the
    older ones and the next check recomputes)."""
    composer = Composer.load(communication, on_date=on_date)
    versions = composer.input_versions()
    hasher = hashlib.sha256(composer.header().encode())
    for payload in composer.payloads():
        hasher.update(b"\n")
        hasher.update(payload.canonical.encode())
    return hasher.hexdigest(), versions


def input_versions_current(
    *, communication: Communication, on_date: datetime.date
) -> dict[str, str]:
    """The versions of the payload's inputs now, without building any message."""
    return Composer.load(communication, on_date=on_date).input_versions()


def composed_on(communication: Communication) -> datetime.date:
    if communication.composed_at is None:
        return timezone.localdate()
    return timezone.localdate(communication.composed_at)
