"""Compliance findings at compose time."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from integration.models import ComplianceRule
from integration.setup.compliance import compliance_evaluate
from tests.factories import ComplianceRuleFactory, communication_type

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
WEDNESDAY_NOON = datetime.datetime(2026, 6, 3, 12, 0, tzinfo=LONDON)
SATURDAY_NOON = datetime.datetime(2026, 6, 6, 12, 0, tzinfo=LONDON)


def evaluate(
    imprint,
    *,
    code="promotional-letter",
    territory="FR",
    channel="email",
    recipient=None,
    driver=None,
    at=WEDNESDAY_NOON,
):
    return compliance_evaluate(
        communication_type=communication_type(code),
        imprint=imprint,
        territory_code=territory,
        channel=channel,
        recipient=recipient or {"name": "Ann", "consent": True},
        driver_data=driver or {},
        at=at,
    )


def test_eu_marketing_needs_data_protection_notice(imprint_a, territories):
    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="GDPR notice",
        kind=ComplianceRule.Kind.REQUIRED_FIELD,
        required_field="dataProtectionNotice",
        territory_code="EU",
        categories=["marketing"],
        message="Add the EU data-protection notice.",
    )
    [finding] = evaluate(imprint_a, territory="DE")
    assert finding.blocking
    assert finding.message == (
        "'dataProtectionNotice' must be filled (GDPR notice). Add the EU data-protection notice."
    )
    assert evaluate(imprint_a, territory="DE", driver={"dataProtectionNotice": "…"}) == []
    assert evaluate(imprint_a, territory="GB") == []  # not in the EU
    assert evaluate(imprint_a, territory="DE", code="royalty-statement") == []  # not marketing


def test_withholding_tax_note_on_royalty_statements_for_a_territory(imprint_a, territories):
    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="US withholding",
        kind=ComplianceRule.Kind.REQUIRED_FIELD,
        required_field="withholdingTaxNote",
        territory_code="US",
        severity=ComplianceRule.Severity.WARNING,
    )
    rule = ComplianceRule.objects.get()
    rule.communication_types.set([communication_type("royalty-statement")])
    [finding] = evaluate(imprint_a, code="royalty-statement", territory="US", channel="print")
    assert finding.severity == "warning" and not finding.blocking
    assert evaluate(imprint_a, code="licence-renewal", territory="US") == []


def test_marketing_email_only_with_consent(imprint_a):
    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="Consent",
        kind=ComplianceRule.Kind.CONSENT_REQUIRED,
        channels=["email"],
        categories=["marketing"],
    )
    [no] = evaluate(imprint_a, recipient={"name": "Bob", "consent": False})
    assert no.message == "Bob has not consented to email (Consent)."
    [unknown] = evaluate(imprint_a, recipient={"email": "x@y.test", "consent": None})
    assert "has no recorded consent" in unknown.message
    assert evaluate(imprint_a, recipient={"name": "Bob", "consent": False}, channel="print") == []
    assert evaluate(imprint_a, recipient={"name": "Ann", "consent": True}) == []


def test_sending_window_weekdays_and_hours(imprint_a):
    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="Office hours",
        kind=ComplianceRule.Kind.SENDING_WINDOW,
        weekdays=[0, 1, 2, 3, 4],
        start_hour=9,
        end_hour=17,
        severity=ComplianceRule.Severity.WARNING,
    )
    assert evaluate(imprint_a) == []
    [weekend] = evaluate(imprint_a, at=SATURDAY_NOON)
    assert weekend.message.startswith("Saturday is outside the sending window")
    late = datetime.datetime(2026, 6, 3, 18, 30, tzinfo=datetime.UTC)  # 19:30 in London
    [evening] = evaluate(imprint_a, at=late)
    assert "19:30 is outside the sending window 09:00–17:00" in evening.message


def test_forbidden_channel_author_group_and_other_imprints(imprint_a, imprint_b):
    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="No SMS",
        kind=ComplianceRule.Kind.CHANNEL_FORBIDDEN,
        channels=["sms"],
        author_group="Estate",
    )
    ComplianceRuleFactory.create(imprint=imprint_b, name="B consent", channels=["email"])
    recipient = {"name": "Estate of X", "consent": True, "author_group": "Estate"}
    [finding] = evaluate(imprint_a, channel="sms", recipient=recipient)
    assert finding.message == "sms is not allowed here (No SMS)."
    assert evaluate(imprint_a, channel="sms", recipient={"name": "Ann", "consent": True}) == []
    # Imprint B's rule never applies to imprint A.
    assert evaluate(imprint_a, recipient={"name": "Bob", "consent": False}) == []


def test_blocking_findings_come_first(imprint_a):
    ComplianceRuleFactory.create(
        imprint=imprint_a, name="A warn", kind="sending_window", weekdays=[0], severity="warning"
    )
    ComplianceRuleFactory.create(imprint=imprint_a, name="B block", channels=["email"])
    findings = evaluate(imprint_a, recipient={"name": "Bob", "consent": False})
    assert [f.severity for f in findings] == ["blocking", "warning"]


def test_rule_validation(imprint_a):
    with pytest.raises(ValidationError) as err:
        ComplianceRule(
            imprint=imprint_a,
            name="x",
            kind="sending_window",
            weekdays=[7],
            start_hour=18,
            end_hour=9,
            channels=["fax"],
        ).full_clean()
    assert set(err.value.message_dict) == {"weekdays", "end_hour", "channels"}
    with pytest.raises(ValidationError, match="Name the driver field"):
        ComplianceRule(imprint=imprint_a, name="y", kind="required_field").full_clean()


def test_preloaded_rules_evaluate_without_queries(
    imprint_a, territories, django_assert_num_queries
):
    from integration.setup.compliance import compliance_rules_for

    ComplianceRuleFactory.create(
        imprint=imprint_a,
        name="EU notice",
        kind="required_field",
        required_field="notice",
        territory_code="EU",
    )
    ComplianceRuleFactory.create(imprint=imprint_a, name="Consent", channels=["email"])
    ctype = communication_type("promotional-letter")
    rules = compliance_rules_for(imprint=imprint_a, communication_type=ctype)
    with django_assert_num_queries(0):
        for country, expected in (("FR", 2), ("GB", 1), ("IE", 2)):
            findings = compliance_evaluate(
                communication_type=ctype,
                imprint=imprint_a,
                territory_code=country,
                channel="email",
                recipient={"name": "A", "consent": False},
                driver_data={},
                at=WEDNESDAY_NOON,
                rules=rules,
            )
            assert len(findings) == expected, country
