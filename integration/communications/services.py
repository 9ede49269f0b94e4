"""Communications: create, compose, preview, submit, approve (four eyes), reject, cancel,
revalidate and replay. The only writers of Communication, Message and Approval.

Composition streams the audience in chunks, builds each recipient's driver payload (the
template's mapping applied to the title context plus the recipient's own fields), checks the
imprint's compliance rules, ``bulk_create``s the messages chunk by chunk (progress is visible
as ``compose_done`` / ``compose_total``) and hashes the whole payload incrementally: a header
(template, Exstream communication, channels, audience) then each message's canonical JSON in
sequence order. Approval binds that hash; ``communication_revalidate`` recomputes it from
current data (writing nothing) and voids the approval when it differs.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint, Membership
from accounts.policy import CATEGORY_ROLES, Action, Category
from integration.delivery.outbox import outbox_replay
from integration.lib.queue import enqueue
from integration.models import (
    Approval,
    Audience,
    ChangeEvent,
    Communication,
    CommunicationTemplate,
    CommunicationType,
    Contract,
    Message,
    MessagePreview,
    OutboxItem,
    Product,
    RoyaltyImport,
    RoyaltyLine,
    TriggerRule,
    Work,
)
from integration.setup.audiences import Recipient, audience_count, audience_recipients
from integration.setup.compliance import compliance_evaluate, compliance_rules_for
from integration.setup.context import RECIPIENT_FIELDS, build_context
from integration.setup.mappings import COLOPHON_SUPPLIED, build_driver_data
from integration.setup.templates import template_resolve

logger = logging.getLogger(__name__)

S = Communication.Status
COMPOSE_CHUNK = 2000
PREVIEW_RANDOM = 3
PREVIEW_MAX_WITH_FINDINGS = 20
SUBJECT_TYPE = "integration.communication"


def dispatch_chunk_size() -> int:
    return max(1, int(settings.COMMUNICATION_DISPATCH_CHUNK))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _is_user(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False))


# --- create ------------------------------------------------------------------------------------


def communication_create(
    *,
    actor: Any,
    imprint: Imprint,
    communication_type: CommunicationType,
    audience: Audience,
    name: str = "",
    work: Work | None = None,
    product: Product | None = None,
    contract: Contract | None = None,
    royalty_import: RoyaltyImport | None = None,
    territory_code: str = "",
    language: str = "",
    channels: list[str] | None = None,
    offer: dict[str, Any] | None = None,
    campaign: dict[str, Any] | None = None,
    trigger_rule: TriggerRule | None = None,
    change_event: ChangeEvent | None = None,
    trigger_key: str | None = None,
    compose: bool = True,
) -> Communication:
    """Create a draft (resolving its template) and compose it in the background.

    ``actor`` is the drafting user, or a string such as ``"trigger:12"`` for trigger drafts."""
    category = Category(communication_type.category)
    if _is_user(actor):
        policy.require(actor, Action.VIEW, imprint)
        if not policy.can_draft(actor, category, imprint):
            raise PermissionDenied(
                f"Drafting {category.value.replace('_', ' ')} communications in {imprint} needs "
                "a drafting role for that category."
            )
    errors: dict[str, list[str]] = {}
    if audience.imprint_id != imprint.pk:
        errors["audience"] = ["That audience belongs to another imprint."]
    if contract is not None and work is None:
        work = contract.work
    if product is not None and work is None:
        work = product.work
    for label, obj in (("work", work), ("contract", contract)):
        if obj is not None and obj.imprint_id != imprint.pk:
            errors[label] = [f"That {label} belongs to another imprint."]
    if product is not None and work is not None and product.work_id != work.pk:
        errors["product"] = ["That product is a format of another title."]
    if royalty_import is not None and royalty_import.imprint_id != imprint.pk:
        errors["royalty_import"] = ["That royalty import belongs to another imprint."]
    territory_code = (territory_code or audience.territory_code or "").upper()
    resolution = template_resolve(
        communication_type=communication_type,
        imprint=imprint,
        territory_code=territory_code,
        language=language,
        on_date=timezone.localdate(),
    )
    template = resolution.template
    if template is None:
        errors["communication_type"] = [resolution.explanation]
    chosen_channels = list(channels or (template.channels if template else []))
    if template is not None:
        offered = set(template.channels)
        wrong = [c for c in chosen_channels if c not in offered]
        if wrong:
            errors["channels"] = [
                f"The template {template} has no {', '.join(wrong)} output; it offers "
                f"{', '.join(sorted(offered))}."
            ]
        if not chosen_channels:
            errors["channels"] = ["Choose at least one channel."]
    for label, value in (("offer", offer), ("campaign", campaign)):
        if value is not None and not isinstance(value, dict):
            errors[label] = [f"The {label} must be an object of names and values."]
    if errors:
        raise ValidationError(errors)
    assert template is not None
    if not name:
        about = work.title if work else (contract.name if contract else audience.name)
        name = f"{communication_type.name}: {about}"[:300]
    with transaction.atomic():
        communication = Communication.objects.create(
            imprint=imprint,
            communication_type=communication_type,
            name=name[:300],
            work=work,
            product=product,
            contract=contract,
            royalty_import=royalty_import,
            template=template,
            template_explanation=resolution.explanation + "\n" + "\n".join(resolution.lines),
            audience=audience,
            territory_code=territory_code,
            language=language,
            channels=chosen_channels,
            offer=offer or {},
            campaign=campaign or {},
            created_by=actor if _is_user(actor) else None,
            trigger_rule=trigger_rule,
            change_event=change_event,
            trigger_key=trigger_key,
        )
        log_action(
            actor=actor,
            verb="communication.created",
            target=communication,
            work_id=communication.work_id,
            data={
                "type": communication_type.code,
                "template": str(template),
                "audience": audience.name,
                "channels": chosen_channels,
                "trigger_rule": trigger_rule.pk if trigger_rule else None,
                "change_event": change_event.pk if change_event else None,
            },
        )
        if compose:
            _start_composing(communication, actor=actor)
    return communication


def _start_composing(communication: Communication, *, actor: Any) -> None:
    assert communication.audience is not None
    communication.start_composing()
    if communication.audience.kind == Audience.Kind.SEGMENT:
        total = 1
    else:
        total = audience_count(audience=communication.audience, work=communication.work) or 0
    communication.compose_total = total
    communication.compose_done = 0
    communication.save()
    log_action(
        actor=actor,
        verb="communication.compose_started",
        target=communication,
        work_id=communication.work_id,
        data={"recipients": total},
    )
    enqueue(
        "integration.tasks.communication_compose",
        communication.pk,
        communication.compose_attempt,
        group="compose",
    )


def communication_recompose(*, actor: Any, communication: Communication) -> Communication:
    """Compose a draft or rejected communication again from current data (re-resolving its
    template), e.g. after the catalogue or setup changed."""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        _require_drafter(actor, locked)
        if locked.status not in Communication.EDITABLE:
            raise ValidationError(
                f"Only drafts and rejected communications can be recomposed; this one is "
                f"{locked.get_status_display().lower()}."
            )
        resolution = template_resolve(
            communication_type=locked.communication_type,
            imprint=locked.imprint,
            territory_code=locked.territory_code,
            language=locked.language,
            on_date=timezone.localdate(),
        )
        if resolution.template is None:
            raise ValidationError(resolution.explanation)
        locked.template = resolution.template
        locked.template_explanation = resolution.explanation + "\n" + "\n".join(resolution.lines)
        _start_composing(locked, actor=actor)
    return locked


# --- the payload -------------------------------------------------------------------------------


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

    @classmethod
    def load(cls, communication: Communication, *, on_date: datetime.date) -> Composer:
        template = communication.template
        if template is None:
            raise ValidationError("No template applies to this communication.")
        # Fresh template with its mappings (a cached compile must not outlive a change).
        template = CommunicationTemplate.objects.select_related("exstream_communication").get(
            pk=template.pk
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
        if communication.royalty_import_id and any(
            f.group == "royalty" for f in composer.recipient_fields
        ):
            for line in RoyaltyLine.objects.filter(
                royalty_import_id=communication.royalty_import_id
            ).order_by("payee_consonance_id", "period_start", "isbn13", "id"):
                if line.payee_id is not None:
                    composer.royalty_lines.setdefault(line.payee_id, []).append(line)
        return composer

    def header(self) -> str:
        c = self.communication
        return _dumps(
            {
                "communication": c.pk,
                "template": [self.template.pk, self.template.updated_at.isoformat()],
                "exstream": self.template.exstream_communication.communication_id,
                "channels": self.channels,
                "audience": [
                    c.audience_id,
                    c.audience.updated_at.isoformat() if c.audience else "",
                ],
                "offer": c.offer,
                "campaign": c.campaign,
            }
        )

    def recipients(self) -> Iterator[Recipient]:
        audience = self.communication.audience
        assert audience is not None
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
        yield from audience_recipients(audience=audience, work=self.communication.work)

    def _split_mappings(self) -> tuple[dict[str, Any], list[str], Any]:
        """Map the title-level fields once; per recipient only the recipient-level mappings
        run. Exactly what ``build_driver_data`` over the whole context would produce."""
        template = self.template
        mappings = list(template.mappings.all())
        levels = {f.key: f.level for f in RECIPIENT_FIELDS}
        per_recipient = [m for m in mappings if levels.get(m.context_field) == "recipient"]
        per_title = [m for m in mappings if m not in per_recipient]
        # The customer key is Colophon's own (the message key), added to every record at send.
        required = set(template.exstream_communication.required_fields) - COLOPHON_SUPPLIED
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

    def payloads(self) -> Iterator[Payload]:
        fields = self.recipient_fields
        channels = self.channels
        default_channel = channels[0]
        royalty = self.royalty_lines
        dumps = _dumps
        title_data, title_problems, recipient_part = self._split_mappings()
        for sequence, recipient in enumerate(self.recipients(), start=1):
            src = {
                "recipient": recipient,
                "royalty_lines": royalty.get(recipient.contact_id or 0, []),
            }
            context = {f.key: f.resolver(src) for f in fields}
            own, own_problems = build_driver_data(template=recipient_part, context=context)
            driver_data = {**title_data, **own}
            problems = title_problems + own_problems if title_problems else own_problems
            pref = recipient.channel_preference
            channel = pref if pref in channels else default_channel
            driver_json = dumps(driver_data)
            # == _dumps([sequence, recipient.key, channel, driver_data]), encoding the driver
            # data once for both the hash and the stored row.
            canonical = f"[{sequence},{dumps(recipient.key)},{dumps(channel)},{driver_json}]"
            yield Payload(
                sequence, recipient, channel, driver_data, problems, canonical, driver_json
            )


def payload_hash_compute(*, communication: Communication, on_date: datetime.date) -> str:
    """The payload hash from current data, writing nothing."""
    composer = Composer.load(communication, on_date=on_date)
    hasher = hashlib.sha256(composer.header().encode())
    for payload in composer.payloads():
        hasher.update(b"\n")
        hasher.update(payload.canonical.encode())
    return hasher.hexdigest()


def _composed_on(communication: Communication) -> datetime.date:
    if communication.composed_at is None:
        return timezone.localdate()
    return timezone.localdate(communication.composed_at)


class ComposeSuperseded(Exception):
    """This composing worker's attempt was restarted (or cancelled): it stops writing."""


def communication_compose(*, communication_id: int, attempt: int | None = None) -> Communication:
    """Build the messages of a communication that is composing (the background task).

    ``attempt`` is the ``compose_attempt`` the task was queued for; a task for an older attempt
    (a worker that stalled and was restarted, or a late retry of it) does nothing."""
    communication = Communication.objects.select_related(
        "communication_type", "audience", "template", "work", "product", "contract"
    ).get(pk=communication_id)
    if communication.status != S.COMPOSING:
        return communication
    if attempt is None:
        attempt = communication.compose_attempt
    if attempt != communication.compose_attempt:
        return communication
    try:
        return _compose(communication, attempt=attempt)
    except ComposeSuperseded:
        logger.info("Composing communication %s: attempt %s superseded", communication_id, attempt)
        return Communication.objects.get(pk=communication_id)
    except Exception as exc:
        logger.exception("Composing communication %s failed", communication_id)
        with transaction.atomic():
            locked = Communication.objects.select_for_update().get(pk=communication_id)
            if locked.status != S.COMPOSING or locked.compose_attempt != attempt:
                return locked  # a newer attempt owns the messages now
            Message.objects.filter(communication=locked).delete()
            locked.compose_failed()
            locked.compose_error = (
                exc.messages[0] if isinstance(exc, ValidationError) else f"{exc}"
            )[:2000]
            locked.payload_hash = ""
            locked.save()
            log_action(
                actor=None,
                verb="communication.compose_failed",
                target=locked,
                work_id=locked.work_id,
                data={"error": locked.compose_error},
            )
        return locked


def _heartbeat(comm_id: int, attempt: int, **values: Any) -> None:
    """Record progress for ``attempt``; raise ``ComposeSuperseded`` if it is no longer the
    current one (restarted or cancelled). Takes the row lock a restart waits on, so a restart
    and this worker's next write never interleave."""
    moved = Communication.objects.filter(
        pk=comm_id, status=S.COMPOSING, compose_attempt=attempt
    ).update(compose_heartbeat_at=timezone.now(), **values)
    if not moved:
        raise ComposeSuperseded()


def _findings(
    composer: Composer,
    payload: Payload,
    rules: list[Any],
    at: datetime.datetime,
) -> list[dict[str, str]]:
    out = [
        {"severity": "blocking", "rule": "Mapping", "message": problem}
        for problem in payload.problems
    ]
    if payload.channel == "email" and not payload.recipient.email:
        who = payload.recipient.name or payload.recipient.key
        out.append(
            {
                "severity": "blocking",
                "rule": "E-mail address",
                "message": f"{who} has no e-mail address for the e-mail channel.",
            }
        )
    if rules:
        c = composer.communication
        for finding in compliance_evaluate(
            communication_type=c.communication_type,
            imprint=c.imprint_id,
            territory_code=c.territory_code or payload.recipient.country,
            channel=payload.channel,
            recipient=payload.recipient,
            driver_data=payload.driver_data,
            at=at,
            rules=rules,
        ):
            out.append(
                {
                    "severity": finding.severity,
                    "rule": finding.rule.name,
                    "message": finding.message,
                }
            )
    return out


_MESSAGE_COLUMNS = (
    "communication_id",
    "key",
    "sequence",
    "recipient_key",
    "recipient_name",
    "recipient_email",
    "recipient_address",
    "recipient_country",
    "contact_id",
    "channel",
    "driver_data",
    "payload_hash",
    "findings",
    "blocking",
    "status",
    "status_at",
    "status_detail",
    "exstream_job_id",
    "chunk",
)


def _insert_messages(rows: list[tuple[Any, ...]]) -> None:
    """One multi-row INSERT per chunk: composing 100k recipients spends its time on payloads,
    not on building and preparing 100k model instances. Values arrive already adapted for the
    database (JSON as text, the key as the backend stores UUIDs)."""
    # Only constant identifiers go into the SQL text; every value is a bound parameter.
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _MESSAGE_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_MESSAGE_COLUMNS)) + ")"
    per_statement = max(1, min(500, 30_000 // len(_MESSAGE_COLUMNS)))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            values = ", ".join([one] * len(part))
            sql = "INSERT INTO " + table + " (" + columns + ") VALUES " + values  # noqa: S608
            cursor.execute(sql, [value for row in part for value in row])


def _compose(communication: Communication, *, attempt: int) -> Communication:
    on_date = timezone.localdate()
    comm_id = communication.pk
    with transaction.atomic():
        # Idempotent: whatever an earlier, dead attempt left behind goes first.
        _heartbeat(comm_id, attempt, compose_done=0)
        Message.objects.filter(communication=communication).delete()
    composer = Composer.load(communication, on_date=on_date)
    rules = compliance_rules_for(
        imprint=communication.imprint_id, communication_type=communication.communication_type
    )
    now = timezone.now()
    hasher = hashlib.sha256(composer.header().encode())
    rows: list[tuple[Any, ...]] = []
    done = blocking = warnings = 0
    native_uuid = connection.features.has_native_uuid_field
    status_at = connection.ops.adapt_datetimefield_value(now)
    generated = Message.Status.GENERATED.value
    sha256 = hashlib.sha256
    uuid4 = uuid.uuid4

    def flush() -> None:
        nonlocal rows
        with transaction.atomic():
            _insert_messages(rows)
            # A superseded attempt raises here and its rows roll back with it.
            _heartbeat(comm_id, attempt, compose_done=done)
        rows = []

    for payload in composer.payloads():
        encoded = payload.canonical.encode()
        hasher.update(b"\n")
        hasher.update(encoded)
        findings = _findings(composer, payload, rules, now)
        is_blocking = any(f["severity"] == "blocking" for f in findings)
        blocking += is_blocking
        warnings += bool(findings) and not is_blocking
        r = payload.recipient
        key = uuid4()
        rows.append(
            (
                comm_id,
                key if native_uuid else key.hex,
                payload.sequence,
                r.key[:200],
                r.name[:300],
                r.email[:300],
                r.address,
                r.country[:2],
                r.contact_id,
                payload.channel,
                payload.driver_json,
                sha256(encoded).hexdigest(),
                _dumps(findings) if findings else "[]",
                is_blocking,
                generated,
                status_at,
                "",
                "",
                0,
            )
        )
        done += 1
        if len(rows) >= COMPOSE_CHUNK:
            flush()
    if rows:
        flush()
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=comm_id)
        if locked.status == S.COMPOSING and locked.compose_attempt != attempt:
            return locked  # restarted meanwhile: the newer attempt owns the messages
        if locked.status != S.COMPOSING:  # cancelled meanwhile
            Message.objects.filter(communication=locked).delete()
            return locked
        locked.finish_composing()
        locked.checked_at = locked.composed_at
        locked.payload_hash = hasher.hexdigest()
        locked.recipient_count = done
        locked.compose_done = done
        locked.compose_total = done
        locked.blocking_count = blocking
        locked.warning_count = warnings
        locked.save()
        log_action(
            actor=None,
            verb="communication.composed",
            target=locked,
            work_id=locked.work_id,
            data={
                "recipients": done,
                "blocking": blocking,
                "warnings": warnings,
                "payload_hash": locked.payload_hash,
            },
        )
        if locked.trigger_rule_id is not None:
            _maybe_auto_approve(locked)
    return locked


# --- preview -----------------------------------------------------------------------------------


def preview_sample(*, communication: Communication, random_count: int = PREVIEW_RANDOM) -> list:
    """The first recipient, a random few, and every one with findings (capped)."""
    messages = Message.objects.filter(communication=communication)
    picked: dict[int, str] = {}
    first = messages.order_by("sequence").values_list("pk", flat=True).first()
    if first is not None:
        picked[first] = "first recipient"
    total = communication.recipient_count
    if total > 1 and random_count:
        rng = random.Random()
        sequences = rng.sample(range(2, total + 1), min(random_count, total - 1))
        for pk in messages.filter(sequence__in=sequences).values_list("pk", flat=True):
            picked.setdefault(pk, "random recipient")
    with_findings = (
        messages.exclude(findings=[])
        .order_by("-blocking", "sequence")
        .values_list("pk", flat=True)[:PREVIEW_MAX_WITH_FINDINGS]
    )
    for pk in with_findings:
        picked[pk] = "has findings"
    rows = {m.pk: m for m in messages.filter(pk__in=picked).order_by("sequence")}
    return [(rows[pk], picked[pk]) for pk in sorted(picked, key=lambda p: rows[p].sequence)]


def communication_preview(
    *, actor: Any, communication: Communication, random_count: int = PREVIEW_RANDOM
) -> list[MessagePreview]:
    """Render a sample through Exstream on-demand on the preview domain and keep the result."""
    from integration.delivery.gateway import gateway

    policy.require(actor, Action.PREVIEW, communication)
    if communication.status == S.COMPOSING:
        raise ValidationError("Wait until composing has finished, then preview.")
    if communication.template is None or communication.recipient_count == 0:
        raise ValidationError("There is nothing to preview: no template or no recipients.")
    exstream = communication.template.exstream_communication
    previews: list[MessagePreview] = []
    for message, reason in preview_sample(communication=communication, random_count=random_count):
        outputs: list[dict[str, Any]] = []
        error = ""
        try:
            outputs = gateway().preview(
                actor=actor,
                exstream_communication=exstream,
                driver_data=message.driver_data,
                imprint=communication.imprint,
                customer_key=str(message.key),
            )
        except Exception as exc:  # shown next to the recipient; others still render
            error = getattr(exc, "message", None) or str(exc)
        previews.append(
            MessagePreview(
                communication=communication,
                message=message,
                reason=reason,
                payload_hash=message.payload_hash,
                outputs=outputs,
                error=error[:4000],
                created_by=actor if _is_user(actor) else None,
            )
        )
    with transaction.atomic():
        MessagePreview.objects.filter(communication=communication).delete()
        MessagePreview.objects.bulk_create(previews)
        log_action(
            actor=actor,
            verb="communication.previewed",
            target=communication,
            work_id=communication.work_id,
            data={
                "recipients": [p.message.sequence for p in previews],
                "errors": sum(1 for p in previews if p.error),
            },
        )
    return previews


# --- submit / approve / reject / cancel --------------------------------------------------------


def _require_drafter(actor: Any, communication: Communication) -> None:
    if not _is_user(actor):
        return
    category = communication.category
    if not policy.can_draft(actor, category, communication):
        raise PermissionDenied(
            f"Only someone who drafts {category.replace('_', ' ')} communications in this "
            "imprint may do this."
        )


def stale_reason(communication: Communication) -> str | None:
    """Cheap: has anything the payload reads changed since it was last found current?"""
    since = communication.checked_at or communication.composed_at
    if since is None:
        return None
    c = communication
    if (
        c.template_id
        and CommunicationTemplate.objects.filter(pk=c.template_id, updated_at__gt=since).exists()
    ):
        return f"The template {communication.template} or its mapping changed"
    if c.audience_id and Audience.objects.filter(pk=c.audience_id, updated_at__gt=since).exists():
        return f"The audience {communication.audience} changed"
    if (
        communication.work_id
        and ChangeEvent.objects.filter(work_id=communication.work_id, created_at__gt=since).exists()
    ):
        return f"The catalogue data of “{communication.work}” changed"
    return None


def _changed_since_composed(communication: Communication) -> str | None:
    """None when the composed payload is still what current data gives; otherwise why not.
    Recomputes the hash only when something it reads has changed."""
    why = stale_reason(communication)
    if why is None:
        return None
    current = payload_hash_compute(communication=communication, on_date=_composed_on(communication))
    if current == communication.payload_hash:
        Communication.objects.filter(pk=communication.pk).update(checked_at=timezone.now())
        return None
    return why


def submit_refusal(communication: Communication) -> str | None:
    """Why it cannot be submitted now (None when it can), for everyone."""
    if communication.status == S.COMPOSING:
        return "It is still composing."
    if communication.status not in Communication.EDITABLE:
        return f"It is {communication.get_status_display().lower()}."
    if communication.compose_error:
        return f"Composing failed: {communication.compose_error}"
    if not communication.payload_hash:
        return "It has not been composed yet."
    if communication.recipient_count == 0:
        return "It has no recipients."
    if communication.blocking_count:
        return (
            f"{communication.blocking_count} recipient(s) have blocking findings; fix the data, "
            "mapping or audience and recompose."
        )
    return None


def communication_submit(*, actor: Any, communication: Communication) -> Communication:
    _require_drafter(actor, communication)
    if communication.status in Communication.EDITABLE and communication.payload_hash:
        changed = _changed_since_composed(communication)
        if changed:
            raise ValidationError(
                f"{changed} since it was composed: recompose it, check it and submit again."
            )
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        _require_drafter(actor, locked)
        refusal = submit_refusal(locked)
        if refusal:
            raise ValidationError(f"This communication cannot be submitted: {refusal}")
        locked.submit()
        locked.submitted_by = actor if _is_user(actor) else None
        locked.submitted_at = timezone.now()
        locked.save()
        log_action(
            actor=actor,
            verb="communication.submitted",
            target=locked,
            work_id=locked.work_id,
            data={"payload_hash": locked.payload_hash, "recipients": locked.recipient_count},
        )
        enqueue("integration.tasks.communication_notify_approvers", locked.pk)
    return locked


def approve_refusal(actor: Any, communication: Communication) -> str | None:
    """Why ``actor`` may not approve this now (None when they may)."""
    refusal = policy.approval_refusal(
        actor,
        communication.category,
        communication,
        submitted_by_id=communication.submitted_by_id,
    )
    if refusal:
        return refusal
    if communication.status != S.SUBMITTED:
        return f"It is {communication.get_status_display().lower()}, not awaiting approval."
    if communication.blocking_count:
        return f"{communication.blocking_count} recipient(s) have blocking findings."
    return None


def communication_approve(
    *, actor: Any, communication: Communication, comment: str = ""
) -> Communication:
    """Four eyes: an approving role for the category in the imprint, not the submitter. Binds
    the payload hash and creates the dispatch outbox rows in the same transaction."""
    refusal = approve_refusal(actor, communication)
    if refusal:
        raise PermissionDenied(refusal)
    changed = _changed_since_composed(communication)
    if changed and communication_revalidate(communication_id=communication.pk, reason=changed):
        raise ValidationError(
            f"{changed} after it was submitted, so it is no longer what was submitted: it is back "
            "in draft and has been recomposed from current data."
        )
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = approve_refusal(actor, locked)
        if refusal:
            raise PermissionDenied(refusal)
        _approve(locked, actor=actor, comment=comment, auto=False)
    return locked


def _approve(locked: Communication, *, actor: Any, comment: str, auto: bool) -> None:
    locked.approve()
    locked.approved_by = actor if _is_user(actor) else None
    locked.approved_at = timezone.now()
    locked.approved_hash = locked.payload_hash
    locked.auto_approved = auto
    Approval.objects.create(
        communication=locked,
        decided_by=locked.approved_by,
        decision=Approval.Decision.APPROVED,
        payload_hash=locked.payload_hash,
        comment=comment,
    )
    chunks = _queue_dispatch(locked)
    locked.queue()
    locked.save()
    log_action(
        actor=actor,
        verb="communication.auto_approved" if auto else "communication.approved",
        target=locked,
        work_id=locked.work_id,
        data={"payload_hash": locked.approved_hash, "chunks": chunks, "comment": comment},
    )


def chunk_external_id(communication: Communication, chunk: int) -> str:
    return f"colophon-comm-{communication.pk}-chunk-{chunk}-{communication.approved_hash[:12]}"


def _queue_dispatch(communication: Communication) -> int:
    """One EXSTREAM_BATCH outbox row per chunk of messages, in the approval's transaction."""
    from integration.communications.dispatch import register

    register()
    size = dispatch_chunk_size()
    Message.objects.filter(communication=communication).update(
        chunk=(F("sequence") - 1) / size + 1,
        status=Message.Status.GENERATED,
        exstream_job_id="",
        status_detail="",
    )
    count = communication.recipient_count
    chunks = (count + size - 1) // size
    rows = {
        chunk_external_id(communication, n): {
            "communication_id": communication.pk,
            "chunk": n,
            "approved_hash": communication.approved_hash,
            "messages": min(size, count - (n - 1) * size),
        }
        for n in range(1, chunks + 1)
    }
    existing = {
        item.external_id: item
        for item in OutboxItem.objects.select_for_update().filter(external_id__in=list(rows))
    }
    # One row per chunk, like ``outbox_enqueue`` but in one INSERT and with one wake-up call.
    OutboxItem.objects.bulk_create(
        [
            OutboxItem(
                kind=OutboxItem.Kind.EXSTREAM_BATCH,
                external_id=external_id,
                payload=payload,
                imprint_id=communication.imprint_id,
                work_id=communication.work_id,
                subject_type=SUBJECT_TYPE,
                subject_id=communication.pk,
            )
            for external_id, payload in rows.items()
            if external_id not in existing
        ],
        batch_size=500,
    )
    for item in existing.values():
        if item.status == OutboxItem.Status.CANCELLED:
            # The same payload was approved, voided and approved again: send it this time.
            item.status = OutboxItem.Status.PENDING
            item.next_attempt_at = timezone.now()
            item.last_error = ""
            item.save()
    enqueue("integration.tasks.outbox_dispatch", group="outbox")
    return chunks


def communication_reject(
    *, actor: Any, communication: Communication, comment: str
) -> Communication:
    if not comment.strip():
        raise ValidationError({"comment": ["Say why it is rejected, so the drafter can fix it."]})
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = policy.approval_refusal(
            actor, locked.category, locked, submitted_by_id=locked.submitted_by_id
        )
        if refusal:
            raise PermissionDenied(refusal.replace("approve", "reject"))
        if locked.status != S.SUBMITTED:
            raise ValidationError(
                f"It is {locked.get_status_display().lower()}, not awaiting approval."
            )
        locked.reject()
        locked.rejection_comment = comment.strip()
        locked.save()
        Approval.objects.create(
            communication=locked,
            decided_by=actor,
            decision=Approval.Decision.REJECTED,
            payload_hash=locked.payload_hash,
            comment=comment.strip(),
        )
        log_action(
            actor=actor,
            verb="communication.rejected",
            target=locked,
            work_id=locked.work_id,
            data={"comment": comment.strip()},
        )
    return locked


def cancel_refusal(actor: Any, communication: Communication) -> str | None:
    if not (
        policy.can_draft(actor, communication.category, communication)
        or policy.can_approve(actor, communication.category, communication, submitted_by_id=None)
    ):
        return "Only the category's drafters and approvers in this imprint may cancel it."
    if communication.status not in (S.DRAFT, S.REJECTED, S.SUBMITTED, S.APPROVED, S.QUEUED):
        return f"It is {communication.get_status_display().lower()}; only unsent ones can be."
    return None


def communication_cancel(*, actor: Any, communication: Communication) -> Communication:
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = cancel_refusal(actor, locked)
        if refusal:
            if "Only the" in refusal:
                raise PermissionDenied(refusal)
            raise ValidationError(refusal)
        items = list(_outbox_items(locked).select_for_update())
        if any(i.status == OutboxItem.Status.IN_PROGRESS for i in items):
            raise ValidationError("A chunk is being sent right now; it can no longer be cancelled.")
        if any(i.status == OutboxItem.Status.DONE for i in items):
            raise ValidationError("Some chunks have already been sent.")
        _cancel_items(items, "The communication was cancelled.")
        locked.cancel()
        locked.save()
        log_action(
            actor=actor, verb="communication.cancelled", target=locked, work_id=locked.work_id
        )
    return locked


def _outbox_items(communication: Communication) -> QuerySet[OutboxItem]:
    return OutboxItem.objects.filter(
        subject_type=SUBJECT_TYPE,
        subject_id=communication.pk,
        kind=OutboxItem.Kind.EXSTREAM_BATCH,
    ).order_by("id")


def current_outbox_items(communication: Communication) -> QuerySet[OutboxItem]:
    """The chunks of the current approval."""
    if not communication.approved_hash:
        return OutboxItem.objects.none()
    return _outbox_items(communication).filter(
        external_id__endswith=f"-{communication.approved_hash[:12]}"
    )


def _cancel_items(items: list[OutboxItem], reason: str, *, claimed: bool = False) -> None:
    statuses = [OutboxItem.Status.PENDING, OutboxItem.Status.DEAD]
    if claimed:
        statuses.append(OutboxItem.Status.IN_PROGRESS)
    for item in items:
        if item.status in statuses:
            item.status = OutboxItem.Status.CANCELLED
            item.last_error = reason
            item.save()


# --- revalidation ------------------------------------------------------------------------------


def communication_revalidate(*, communication_id: int, reason: str = "") -> bool:
    """Recompute the payload hash from current data; when it differs from what was submitted
    or approved, void the approval, return the communication to draft with the reason, and
    recompose it. Returns True when it voided."""
    communication = (
        Communication.objects.select_related("communication_type", "audience", "template")
        .filter(pk=communication_id)
        .first()
    )
    if communication is None or communication.status not in Communication.AWAITING_SEND:
        return False
    bound = communication.approved_hash or communication.payload_hash
    try:
        current = payload_hash_compute(
            communication=communication, on_date=_composed_on(communication)
        )
    except ValidationError as exc:
        current, reason = "", reason or exc.messages[0]
    if current == bound:
        Communication.objects.filter(pk=communication_id).update(checked_at=timezone.now())
        return False
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication_id)
        if (
            locked.status not in Communication.AWAITING_SEND
            or (locked.approved_hash or locked.payload_hash) != bound
        ):
            return False
        # While queued no chunk has reached Exstream: the dispatcher moves the communication
        # to "sending" under this same lock before its first HTTP call. Chunks claimed by a
        # worker are cancelled too; that worker then finds it lost them and sends nothing.
        items = list(_outbox_items(locked).select_for_update())
        was = locked.get_status_display().lower()
        why = reason or "The template, mapping, audience or catalogue data changed"
        locked.void_approval()
        locked.void_reason = (
            f"{why.rstrip('.')} while it was {was}, so what was approved is no longer what "
            "would be sent and the approval is void. It has been recomposed from current data; "
            "check it and submit it again."
        )
        _cancel_items(items, "Approval voided: " + locked.void_reason, claimed=True)
        Approval.objects.create(
            communication=locked,
            decided_by=None,
            decision=Approval.Decision.VOIDED,
            payload_hash=current,
            comment=locked.void_reason,
        )
        locked.save()
        log_action(
            actor=None,
            verb="communication.approval_voided",
            target=locked,
            work_id=locked.work_id,
            data={"reason": locked.void_reason, "was": bound, "now": current},
        )
        _start_composing(locked, actor=None)
    return True


def communications_awaiting_send(**filters: Any) -> QuerySet[Communication]:
    return Communication.objects.filter(status__in=Communication.AWAITING_SEND, **filters)


def _enqueue_revalidation(ids: list[int], reason: str) -> int:
    for pk in ids:
        enqueue("integration.tasks.communication_revalidate", pk, reason)
    return len(ids)


def communications_revalidate_for_work(work_id: int, reason: str = "") -> int:
    """Called by the Consonance sync after it records change events for a work: every
    communication about that work that awaits sending is re-checked in the background."""
    from django.db.models import Q

    ids = list(
        communications_awaiting_send()
        .filter(Q(work_id=work_id) | Q(contract__work_id=work_id))
        .values_list("pk", flat=True)
    )
    if not reason:
        title = Work.objects.filter(pk=work_id).values_list("title", flat=True).first()
        reason = f"The catalogue data of “{title or work_id}” changed in Consonance"
    return _enqueue_revalidation(ids, reason)


def communications_revalidate_for_setup(*, kind: str, object_id: int) -> int:
    """After a template, mapping or audience is saved: re-check what uses it."""
    if kind == "template":
        name = CommunicationTemplate.objects.filter(pk=object_id).first()
        ids = list(communications_awaiting_send(template_id=object_id).values_list("pk", flat=True))
        reason = f"The template {name or object_id} or its mapping changed"
    elif kind == "audience":
        audience = Audience.objects.filter(pk=object_id).first()
        ids = list(communications_awaiting_send(audience_id=object_id).values_list("pk", flat=True))
        reason = f"The audience {audience or object_id} changed"
    else:
        raise ValueError(f"Unknown setup kind {kind!r}.")
    return _enqueue_revalidation(ids, reason)


def setup_changed(*, kind: str, object_id: int | None) -> None:
    """Hook for the setup services: after commit, re-check communications using the object."""
    if object_id is None:
        return
    if kind == "template":  # a mapping change is a change of its template
        CommunicationTemplate.objects.filter(pk=object_id).update(updated_at=timezone.now())
    enqueue("integration.tasks.communications_revalidate_for_setup", kind, object_id)


# --- auto-approval ---------------------------------------------------------------------------


def _maybe_auto_approve(locked: Communication) -> None:
    from integration.setup.triggers import type_is_auto_approvable

    if not type_is_auto_approvable(
        imprint_id=locked.imprint_id, communication_type=locked.communication_type
    ):
        return
    actor = f"trigger:{locked.trigger_rule_id}"
    refusal = submit_refusal(locked)
    if refusal:
        log_action(
            actor=actor,
            verb="communication.auto_approval_withheld",
            target=locked,
            work_id=locked.work_id,
            data={"reason": refusal},
        )
        return
    locked.submit()
    locked.submitted_by = None
    locked.submitted_at = timezone.now()
    log_action(
        actor=actor,
        verb="communication.submitted",
        target=locked,
        work_id=locked.work_id,
        data={"payload_hash": locked.payload_hash, "auto": True},
    )
    _approve(
        locked,
        actor=actor,
        comment=f"Auto-approved: the imprint marked {locked.communication_type} as needing no "
        "approval.",
        auto=True,
    )


# --- replay ------------------------------------------------------------------------------------


def communication_replay(*, actor: Any, communication: Communication) -> int:
    """Replay the communication's dead-letter chunks (after someone fixed the cause)."""
    policy.require(actor, Action.OPERATE, communication)
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        dead = list(
            current_outbox_items(locked).filter(status=OutboxItem.Status.DEAD).select_for_update()
        )
        if not dead:
            raise ValidationError("There are no dead-letter chunks to replay.")
        for item in dead:
            outbox_replay(actor=actor, item=item)
        Message.objects.filter(
            communication=locked, chunk__in=[i.payload.get("chunk") for i in dead]
        ).update(status=Message.Status.GENERATED, status_detail="", status_at=timezone.now())
        if locked.status in (S.PARTIALLY_FAILED, S.FAILED):
            locked.resume_sending()
            locked.save()
        log_action(
            actor=actor,
            verb="communication.replayed",
            target=locked,
            work_id=locked.work_id,
            data={"chunks": [i.payload.get("chunk") for i in dead]},
        )
    return len(dead)


# --- approvers ---------------------------------------------------------------------------------


def approvers_for(communication: Communication) -> QuerySet[Any]:
    from accounts.models import User

    _, roles = CATEGORY_ROLES[Category(communication.category)]
    user_ids = Membership.objects.filter(
        imprint_id=communication.imprint_id, role__in=roles
    ).values("user_id")
    users = User.objects.filter(pk__in=user_ids, is_active=True)
    if communication.submitted_by_id:
        users = users.exclude(pk=communication.submitted_by_id)
    return users.order_by("email")


def communication_notify_approvers(*, communication_id: int) -> int:
    from django.core.mail import send_mail
    from django.urls import reverse

    communication = Communication.objects.select_related("imprint", "submitted_by").get(
        pk=communication_id
    )
    if communication.status != S.SUBMITTED:
        return 0
    recipients = [u.email for u in approvers_for(communication) if u.email]
    if not recipients:
        return 0
    base = settings.SITE_URL
    link = base + reverse("communications:detail", args=[communication.pk])
    who = communication.submitted_by or "A trigger rule"
    send_mail(
        subject=f"[Colophon] Awaiting your approval: {communication.name}",
        message=(
            f"{who} submitted “{communication.name}” ({communication.communication_type}) for "
            f"{communication.imprint}: {communication.recipient_count} recipient(s), "
            f"{communication.warning_count} with warnings.\n\nReview and approve or reject it: "
            f"{link}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)


# --- stalled composing -------------------------------------------------------------------------


def compose_stalled_minutes(
    communication: Communication, *, now: datetime.datetime | None = None
) -> int | None:
    """Whole minutes since the composing worker last showed progress, when that is at least
    ``COMMUNICATION_COMPOSE_STALLED_MINUTES``; ``None`` when it is not composing or not stalled.
    A healthy worker beats after every chunk of ``COMPOSE_CHUNK`` recipients (well under a
    second each)."""
    if communication.status != S.COMPOSING:
        return None
    last = communication.compose_heartbeat_at or communication.updated_at
    minutes = int(((now or timezone.now()) - last).total_seconds() // 60)
    return minutes if minutes >= settings.COMMUNICATION_COMPOSE_STALLED_MINUTES else None


def compose_restart_refusal(actor: Any, communication: Communication) -> str | None:
    """Why ``actor`` may not restart composing now, or ``None``. Imprint admins and the person
    who drafted it may, once it has stalled."""
    admin = policy.can(actor, Action.OPERATE, communication)
    drafter = (
        communication.created_by_id is not None
        and communication.created_by_id == getattr(actor, "pk", None)
        and policy.can(actor, Action.VIEW, communication)
    )
    if not (admin or drafter):
        return "Only the person who drafted it or an imprint admin can restart composing."
    if communication.status != S.COMPOSING:
        return f"It is {communication.get_status_display().lower()}, not composing."
    if compose_stalled_minutes(communication) is None:
        return (
            "Composing is still making progress; restart is offered after "
            f"{settings.COMMUNICATION_COMPOSE_STALLED_MINUTES} minutes without any."
        )
    return None


def _restart_composing(locked: Communication, *, actor: Any, stalled: int, by: str) -> None:
    """Throw away the partial messages and compose again as a new attempt (the old worker, if
    it ever wakes, finds its attempt superseded and stops). Inside the caller's transaction."""
    partial = Message.objects.filter(communication=locked).delete()[0]
    locked.compose_attempt += 1
    locked.compose_restarts += 1
    locked.compose_done = 0
    locked.compose_heartbeat_at = timezone.now()
    locked.payload_hash = ""
    locked.save(
        update_fields=[
            "compose_attempt",
            "compose_restarts",
            "compose_done",
            "compose_heartbeat_at",
            "payload_hash",
            "updated_at",
        ]
    )
    log_action(
        actor=actor,
        verb="communication.compose_restarted",
        target=locked,
        work_id=locked.work_id,
        data={
            "stalled_minutes": stalled,
            "partial_messages_deleted": partial,
            "attempt": locked.compose_attempt,
            "restarts": locked.compose_restarts,
            "by": by,
        },
    )
    enqueue(
        "integration.tasks.communication_compose",
        locked.pk,
        locked.compose_attempt,
        group="compose",
    )


def communication_compose_restart(*, actor: Any, communication: Communication) -> Communication:
    """Restart a composition whose worker stopped showing progress (e.g. it died): the partial
    messages are deleted and composing starts again from scratch. Refused unless it is
    composing and stalled; only imprint admins and the drafter may."""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        refusal = compose_restart_refusal(actor, locked)
        if refusal is not None:
            if not (
                policy.can(actor, Action.OPERATE, locked)
                or locked.created_by_id == getattr(actor, "pk", None)
            ):
                raise PermissionDenied(refusal)
            raise ValidationError(refusal)
        stalled = compose_stalled_minutes(locked) or 0
        _restart_composing(locked, actor=actor, stalled=stalled, by="hand")
    return locked


def communications_compose_sweep(*, now: datetime.datetime | None = None) -> str:
    """The scheduled safety net: restart compositions with no progress for
    ``COMMUNICATION_COMPOSE_SWEEP_MINUTES``, at most ``COMMUNICATION_COMPOSE_MAX_RESTARTS``
    times each; after that, put them back to draft with a ``compose_error`` saying why."""
    now = now or timezone.now()
    limit = settings.COMMUNICATION_COMPOSE_SWEEP_MINUTES
    cutoff = now - datetime.timedelta(minutes=limit)
    max_restarts = settings.COMMUNICATION_COMPOSE_MAX_RESTARTS
    candidates = list(
        Communication.objects.filter(status=S.COMPOSING)
        .filter(
            Q(compose_heartbeat_at__lt=cutoff)
            | Q(compose_heartbeat_at__isnull=True, updated_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    restarted = abandoned = 0
    for pk in candidates:
        with transaction.atomic():
            locked = Communication.objects.select_for_update().get(pk=pk)
            last = locked.compose_heartbeat_at or locked.updated_at
            if locked.status != S.COMPOSING or last >= cutoff:
                continue  # it moved on while we looked
            stalled = int((now - last).total_seconds() // 60)
            if locked.compose_restarts < max_restarts:
                _restart_composing(locked, actor=None, stalled=stalled, by="sweep")
                restarted += 1
                continue
            Message.objects.filter(communication=locked).delete()
            locked.compose_failed()
            locked.compose_error = (
                f"Composing stalled {locked.compose_restarts + 1} times (no progress for "
                f"{limit} minutes or more each time) and was restarted "
                f"{locked.compose_restarts} times, so it was stopped. The worker may be "
                "failing on this audience or template: check the worker log in Operations, "
                "then recompose."
            )
            locked.payload_hash = ""
            locked.save()
            log_action(
                actor=None,
                verb="communication.compose_abandoned",
                target=locked,
                work_id=locked.work_id,
                data={"restarts": locked.compose_restarts, "stalled_minutes": stalled},
            )
            abandoned += 1
    return f"{restarted} stalled composition(s) restarted, {abandoned} put back to draft."
