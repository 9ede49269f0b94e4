"""Creating a draft communication (its template resolved) and starting its composition."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.models import Imprint
from accounts.policy import Action, Category
from accounts.types import Actor, person
from integration.communications.common import require_drafter
from integration.communications.offers import offer_problems, offer_refusal
from integration.lib.queue import enqueue
from integration.models import (
    Audience,
    ChangeEvent,
    Communication,
    CommunicationType,
    Contract,
    ContributorAction,
    Product,
    RoyaltyImport,
    TriggerRule,
    Work,
)
from integration.models.status import REMINDER_CAMPAIGN_KEYS, REMINDER_KEY
from integration.setup.audiences import audience_count
from integration.setup.templates import template_resolve

# The launch communications (flow 5) and the launch announcement (flow 1) are about one title:
# its formats, prices, cover and blurb. Drafted without one, every message composed with blocking
# findings (no title to take those fields from); the drafter is told at once instead.
TITLE_REQUIRED_TYPES = frozenset(
    {
        "launch-announcement",
        "launch-email",
        "retailer-notice",
        "advance-reader-communication",
        "post-launch-follow-up",
    }
)


def communication_create(
    *,
    actor: Actor,
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
    period_start: datetime.date | None = None,
    period_end: datetime.date | None = None,
    compose: bool = True,
    reminder_for: ContributorAction | None = None,
) -> Communication:
    """Create a draft (resolving its template) and compose it in the background.

    ``actor`` is the drafting user, or a string such as ``"trigger:12"`` for trigger drafts.
    ``reminder_for`` (only ``contributor_action_remind`` passes it) makes the draft a reminder
    of that action: its campaign's ``reminder_for_action`` and ``due_on``, which no caller may
    set itself."""
    category = Category(communication_type.category)
    if person(actor) is not None:
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
    if work is None and communication_type.code in TITLE_REQUIRED_TYPES:
        errors["work"] = [
            f"Choose the title: a {communication_type.name} is about one title (its formats, "
            "prices and cover)."
        ]
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
    if isinstance(campaign, dict) and (problem := campaign_link_problem(campaign.get("link"))):
        errors["campaign"] = [problem]
    if isinstance(campaign, dict) and (problem := campaign_reminder_keys_problem(campaign)):
        errors["campaign"] = [problem]
    if (period_start is None) != (period_end is None):
        errors["period_end"] = ["Give the period's first and last day, or neither."]
    elif period_start and period_end and period_end < period_start:
        errors["period_end"] = ["The period ends before it starts."]
    if isinstance(offer, dict) and "offer" not in errors:
        if problems := offer_problems(offer):
            errors["offer"] = problems
        elif expired := offer_refusal(offer):
            errors["offer"] = [expired]
    if errors:
        raise ValidationError(errors)
    assert template is not None
    if reminder_for is not None:
        campaign = {
            **(campaign or {}),
            REMINDER_KEY: reminder_for.pk,
            "due_on": reminder_for.due_on.isoformat(),
        }
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
            created_by=person(actor),
            trigger_rule=trigger_rule,
            change_event=change_event,
            trigger_key=trigger_key,
            period_start=period_start,
            period_end=period_end,
        )
        if communication.created_by is not None:
            communication.authors.add(communication.created_by)
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
            start_composing(communication, actor=actor)
    return communication


_WEB_ADDRESS = URLValidator(schemes=["http", "https"])


def campaign_reminder_keys_problem(campaign: dict[str, Any]) -> str | None:
    """Why ``campaign`` may not be stored as given (None when it may): the keys that make a
    draft a contributor action's reminder (``reminder_for_action``, ``due_on``) are set only by
    the reminder service, never by a drafter (they change whose action an answer closes, and
    a letter's wording and reply date)."""
    given = [key for key in REMINDER_CAMPAIGN_KEYS if key in campaign]
    if not given:
        return None
    return (
        f"The campaign may not set {' or '.join(given)}: only a reminder drafted from a "
        "contributor action (its Draft reminder button, or "
        "POST /api/v1/contributor-actions/{id}/remind/) carries them."
    )


def campaign_link_problem(link: Any) -> str | None:
    """Why a campaign link may not go into the messages (None when it may): it is written
    into every recipient's driver data (a launch e-mail's link, the advance reading copy), so
    only an http(s) web address is taken — never ``javascript:``, ``data:`` or plain text —
    whether it comes from the screens (a URL field) or the REST API (a free object)."""
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        return "The campaign link must be a web address (https://…)."
    try:
        _WEB_ADDRESS(link)
    except ValidationError:
        return f"The campaign link {link[:100]!r} is not a web address (https://…)."
    return None


def start_composing(communication: Communication, *, actor: Actor) -> None:
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


def communication_recompose(*, actor: Actor, communication: Communication) -> Communication:
    """Compose a draft or rejected communication again from current data (re-resolving its
    template), e.g. after the catalogue or setup changed."""
    with transaction.atomic():
        locked = Communication.objects.select_for_update().get(pk=communication.pk)
        require_drafter(actor, locked)
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
        if (editor := person(actor)) is not None:
            locked.authors.add(editor)
        start_composing(locked, actor=actor)
    return locked
