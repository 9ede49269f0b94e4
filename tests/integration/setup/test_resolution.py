"""Template resolution: imprint + territory, then imprint, then territory, then default."""

from __future__ import annotations

import datetime

import pytest

from integration.models import CommunicationTemplate
from integration.setup.templates import template_resolve
from tests.factories import CommunicationTemplateFactory, communication_type

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 6, 1)


def resolve(imprint, territory="GB", language="en", on=ON, code="rights-confirmation"):
    return template_resolve(
        communication_type=communication_type(code),
        imprint=imprint,
        territory_code=territory,
        language=language,
        on_date=on,
    )


@pytest.fixture
def ladder(imprint_a, territories):
    return {
        "default": CommunicationTemplateFactory.create(imprint=None, name="Default"),
        "territory": CommunicationTemplateFactory.create(
            imprint=None, name="GB", territory_code="GB"
        ),
        "imprint": CommunicationTemplateFactory.create(imprint=imprint_a, name="Harbour"),
        "both": CommunicationTemplateFactory.create(
            imprint=imprint_a, name="Harbour GB", territory_code="GB"
        ),
    }


def test_imprint_and_territory_beats_everything(imprint_a, ladder):
    result = resolve(imprint_a)
    assert result.template == ladder["both"]
    assert "imprint and territory" in result.explanation
    assert [c.verdict for c in result.candidates] == ["chosen"] + ["outranked"] * 3


def test_precedence_falls_through_each_level(imprint_a, ladder):
    ladder["both"].delete()
    assert resolve(imprint_a).template == ladder["imprint"]
    ladder["imprint"].delete()
    assert resolve(imprint_a).template == ladder["territory"]
    ladder["territory"].delete()
    assert resolve(imprint_a).template == ladder["default"]


def test_territory_template_for_another_country_is_skipped_with_reason(imprint_a, ladder):
    result = resolve(imprint_a, territory="US")
    assert result.template == ladder["imprint"]
    skipped = {c.template.name: c.reason for c in result.candidates if c.verdict == "skipped"}
    assert "does not cover US" in skipped["Harbour GB"]
    assert "does not cover US" in skipped["GB"]


def test_other_imprints_templates_are_never_candidates(imprint_a, imprint_b, ladder):
    CommunicationTemplateFactory.create(imprint=imprint_b, name="Northwind GB", territory_code="GB")
    result = resolve(imprint_b)
    assert result.template.name == "Northwind GB"
    assert {c.template.name for c in result.candidates} == {"Northwind GB", "Default", "GB"}


def test_group_territory_covers_member_but_country_wins(imprint_a, territories):
    eu = CommunicationTemplateFactory.create(imprint=imprint_a, name="EU", territory_code="EU")
    assert resolve(imprint_a, territory="FR").template == eu
    fr = CommunicationTemplateFactory.create(imprint=imprint_a, name="FR", territory_code="FR")
    result = resolve(imprint_a, territory="FR")
    assert result.template == fr
    assert any("exact country" in c.reason for c in result.candidates if c.template == eu)


def test_draft_retired_and_out_of_date_templates_are_skipped(imprint_a, territories):
    CommunicationTemplateFactory.create(
        imprint=imprint_a, name="Draft", status=CommunicationTemplate.Status.DRAFT
    )
    CommunicationTemplateFactory.create(
        imprint=imprint_a, name="Old", effective_to=datetime.date(2026, 5, 1)
    )
    CommunicationTemplateFactory.create(
        imprint=imprint_a, name="Future", effective_from=datetime.date(2026, 9, 1)
    )
    result = resolve(imprint_a)
    assert result.template is None
    reasons = {c.template.name: c.reason for c in result.candidates}
    assert "draft, not active" in reasons["Draft"]
    assert "ended on 01 May 2026" in reasons["Old"]
    assert "takes effect on 01 Sep 2026" in reasons["Future"]
    assert result.explanation.startswith("No active template applies")


def test_language_and_newest_version(imprint_a, territories):
    en = CommunicationTemplateFactory.create(imprint=imprint_a, name="Letter", language="en")
    fr = CommunicationTemplateFactory.create(imprint=imprint_a, name="Lettre", language="fr")
    anyl = CommunicationTemplateFactory.create(imprint=imprint_a, name="Any")
    assert resolve(imprint_a, language="fr").template == fr
    assert resolve(imprint_a, language="en-GB").template == en
    assert resolve(imprint_a, language="de").template == anyl
    v2 = CommunicationTemplateFactory.create(
        imprint=imprint_a, name="Letter", language="en", version=2
    )
    result = resolve(imprint_a, language="en")
    assert result.template == v2
    assert any("newer version" in c.reason for c in result.candidates if c.template == en)


def test_no_templates_at_all_says_so(imprint_a):
    result = resolve(imprint_a, code="royalty-statement")
    assert result.template is None
    assert result.explanation.startswith("No template exists")
