"""Compliance rules, evaluated at compose time: each finding readable and blocking or warning."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from accounts.models import Imprint, Territory
from integration.models import CommunicationType, ComplianceRule

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Finding:
    rule: ComplianceRule
    severity: str  # "blocking" or "warning"
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity == ComplianceRule.Severity.BLOCKING


def _get(recipient: Any, name: str) -> Any:
    if recipient is None:
        return None
    if isinstance(recipient, Mapping):
        return recipient.get(name)
    return getattr(recipient, name, None)


def _applies(
    rule: ComplianceRule,
    *,
    communication_type: CommunicationType,
    territory_code: str,
    channel: str,
    recipient: Any,
    type_ids: set[int],
    territories: dict[str, Territory | None],
) -> bool:
    if rule.categories and communication_type.category not in rule.categories:
        return False
    if type_ids and communication_type.pk not in type_ids:
        return False
    if (
        rule.kind != ComplianceRule.Kind.CHANNEL_FORBIDDEN
        and rule.channels
        and channel not in rule.channels
    ):
        return False
    if rule.author_group and (_get(recipient, "author_group") or "") != rule.author_group:
        return False
    covers: frozenset[str] | None = getattr(rule, "_covers", None)
    if rule.territory_code and covers is not None:
        wanted = (territory_code or "").upper()
        if "*" not in covers and wanted not in covers:
            return False
    elif rule.territory_code:
        code = rule.territory_code
        if code != (territory_code or "").upper():
            if code not in territories:
                territories[code] = Territory.objects.filter(code=code).first()
            territory = territories[code]
            if not territory_code or territory is None or not territory.covers(territory_code):
                return False
    return True


def _check(
    rule: ComplianceRule, *, channel: str, recipient: Any, driver_data: Mapping[str, Any], at: Any
) -> str | None:
    """The problem, in words, or None when the rule is satisfied."""
    extra = f" {rule.message}" if rule.message else ""
    if rule.kind == ComplianceRule.Kind.REQUIRED_FIELD:
        value = driver_data.get(rule.required_field)
        if value in (None, "", [], {}):
            return f"'{rule.required_field}' must be filled ({rule.name}).{extra}"
        return None
    if rule.kind == ComplianceRule.Kind.CONSENT_REQUIRED:
        consent = _get(recipient, "consent")
        if consent is True:
            return None
        who = _get(recipient, "name") or _get(recipient, "email") or "This recipient"
        state = "has not consented" if consent is False else "has no recorded consent"
        return f"{who} {state} to {channel} ({rule.name}).{extra}"
    if rule.kind == ComplianceRule.Kind.CHANNEL_FORBIDDEN:
        if channel in rule.channels:
            return f"{channel} is not allowed here ({rule.name}).{extra}"
        return None
    if rule.kind == ComplianceRule.Kind.SENDING_WINDOW:
        local = at.astimezone(ZoneInfo(settings.TIME_ZONE)) if at.tzinfo else at
        if rule.weekdays and local.weekday() not in rule.weekdays:
            allowed = ", ".join(WEEKDAYS[d] for d in sorted(rule.weekdays))
            return (
                f"{WEEKDAYS[local.weekday()]} is outside the sending window; send on {allowed} "
                f"({rule.name}).{extra}"
            )
        if (
            rule.start_hour is not None
            and rule.end_hour is not None
            and not (rule.start_hour <= local.hour < rule.end_hour)
        ):
            return (
                f"{local:%H:%M} is outside the sending window "
                f"{rule.start_hour:02d}:00–{rule.end_hour:02d}:00 ({rule.name}).{extra}"
            )
        return None
    return None


def compliance_rules_for(
    *, imprint: Imprint | int, communication_type: CommunicationType
) -> list[ComplianceRule]:
    """Load once per compose, then pass ``rules=`` to ``compliance_evaluate`` per recipient:
    territory groups are expanded here, so evaluating a recipient runs no query."""
    imprint_id = imprint if isinstance(imprint, int) else imprint.pk
    rules = list(
        ComplianceRule.objects.filter(imprint_id=imprint_id, active=True)
        .prefetch_related("communication_types")
        .order_by("name")
    )
    codes = {r.territory_code for r in rules if r.territory_code}
    territories = {
        t.code: t for t in Territory.objects.filter(code__in=codes).prefetch_related("members")
    }
    for rule in rules:
        if not rule.territory_code:
            continue
        territory = territories.get(rule.territory_code)
        if territory is not None and territory.code == "WORLD":
            covered = frozenset({"*"})
        elif territory is not None and territory.kind == Territory.Kind.GROUP:
            covered = frozenset(m.code for m in territory.members.all())
        else:
            covered = frozenset({rule.territory_code})
        rule._covers = covered  # type: ignore[attr-defined]
    return rules


def compliance_evaluate(
    *,
    communication_type: CommunicationType,
    imprint: Imprint | int,
    territory_code: str,
    channel: str,
    recipient: Any,
    driver_data: Mapping[str, Any],
    at: datetime.datetime,
    rules: list[ComplianceRule] | None = None,
) -> list[Finding]:
    """Every finding for one recipient: blocking first, then warnings."""
    if rules is None:
        rules = compliance_rules_for(imprint=imprint, communication_type=communication_type)
    territories: dict[str, Territory | None] = {}
    findings = []
    for rule in rules:
        type_ids = {t.pk for t in rule.communication_types.all()}
        if not _applies(
            rule,
            communication_type=communication_type,
            territory_code=territory_code,
            channel=channel,
            recipient=recipient,
            type_ids=type_ids,
            territories=territories,
        ):
            continue
        problem = _check(rule, channel=channel, recipient=recipient, driver_data=driver_data, at=at)
        if problem:
            findings.append(Finding(rule=rule, severity=rule.severity, message=problem))
    findings.sort(key=lambda f: 0 if f.blocking else 1)
    return findings
