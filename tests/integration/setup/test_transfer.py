"""Export / import of an imprint's setup (all or nothing), the commands and the seed."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import AuditEvent
from integration.models import (
    Audience,
    CommunicationTemplate,
    ComplianceRule,
    FieldMapping,
    ImprintTypeSetting,
    TriggerRule,
)
from integration.setup.transfer import (
    ImportRefused,
    setup_export,
    setup_import,
    type_auto_approval_set,
)
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ExstreamCommunicationFactory,
    FieldMappingFactory,
    TriggerRuleFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def harbour_setup(imprint_a, admin_a, territories):
    template = CommunicationTemplateFactory.create(
        imprint=imprint_a, name="Rights letter", territory_code="EU", language="fr"
    )
    FieldMappingFactory.create(template=template, transforms=[{"op": "upper"}], required=True)
    FieldMappingFactory.create(
        template=template, driver_field="recipientName", context_field="recipient.name"
    )
    audience = AudienceFactory.create(imprint=imprint_a, name="Authors", contributor_roles=["A01"])
    rule = ComplianceRuleFactory.create(imprint=imprint_a, name="Consent", channels=["email"])
    rule.communication_types.set([communication_type("promotional-letter")])
    TriggerRuleFactory.create(
        imprint=imprint_a, name="Stage", audience=audience, match_value="Approved"
    )
    type_auto_approval_set(
        actor=admin_a,
        imprint=imprint_a,
        communication_type=communication_type("catalogue-update"),
        auto_approvable=True,
    )
    return template


def test_round_trip_into_another_imprint(harbour_setup, imprint_a, imprint_b, outsider):
    data = json.loads(json.dumps(setup_export(imprint=imprint_a)))
    assert "pk" not in json.dumps(data) and data["auto_approvable"] == ["catalogue-update"]
    counts = setup_import(actor=outsider, imprint=imprint_b, data=data)
    assert counts == {
        "audiences": 1,
        "templates": 1,
        "mappings": 2,
        "compliance_rules": 1,
        "triggers": 1,
    }
    copy = CommunicationTemplate.objects.get(imprint=imprint_b)
    assert copy.exstream_communication == harbour_setup.exstream_communication
    assert (copy.territory_code, copy.language) == ("EU", "fr")
    assert FieldMapping.objects.get(template=copy, driver_field="workTitle").transforms == [
        {"op": "upper"}
    ]
    trigger = TriggerRule.objects.get(imprint=imprint_b)
    assert trigger.audience.imprint == imprint_b and trigger.match_value == "Approved"
    assert ImprintTypeSetting.objects.get(imprint=imprint_b).auto_approvable
    assert AuditEvent.objects.filter(verb="setup.imported", imprint=imprint_b).exists()
    # Importing again updates in place, never duplicates.
    setup_import(actor=outsider, imprint=imprint_b, data=data)
    assert CommunicationTemplate.objects.filter(imprint=imprint_b).count() == 1
    assert FieldMapping.objects.filter(template__imprint=imprint_b).count() == 2


def test_import_is_all_or_nothing(harbour_setup, imprint_a, imprint_b, outsider):
    data = setup_export(imprint=imprint_a)
    data["templates"][0]["exstream"] = {"communication_id": "missing", "name": "Never synced"}
    data["triggers"][0]["audience"] = "Nobody"
    data["compliance_rules"][0]["kind"] = "sending_window"
    with pytest.raises(ImportRefused) as err:
        setup_import(actor=outsider, imprint=imprint_b, data=data)
    messages = err.value.messages
    assert any("'Never synced' (missing) has not been synced here" in m for m in messages)
    assert any("no audience named 'Nobody'" in m for m in messages)
    assert any("Compliance rule 1 (Consent), weekdays" in m for m in messages)
    for model in (Audience, CommunicationTemplate, ComplianceRule, TriggerRule, ImprintTypeSetting):
        assert not model.objects.filter(imprint=imprint_b).exists()


def test_commands_export_and_import(harbour_setup, imprint_b, tmp_path):
    target = tmp_path / "harbour.json"
    call_command("setup_export", "harbour", "--output", str(target))
    call_command("setup_import", "northwind", str(target))
    assert CommunicationTemplate.objects.filter(imprint=imprint_b).count() == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "something else"}')
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("setup_import", "northwind", str(broken))
    with pytest.raises(CommandError, match="No imprint has the code"):
        call_command("setup_export", "nowhere")


def test_transfer_screen(login, admin_a, outsider, harbour_setup, imprint_a, imprint_b):
    response = login(admin_a).get(reverse("setup:export", args=[imprint_a.pk]))
    exported = json.loads(response.content)
    assert exported["imprint"] == "harbour"
    assert login(outsider).get(reverse("setup:export", args=[imprint_a.pk])).status_code == 404
    upload = SimpleUploadedFile("s.json", json.dumps(exported).encode())
    response = login(outsider).post(
        reverse("setup:transfer"), {"imprint": imprint_b.pk, "file": upload}
    )
    assert response.status_code == 302
    bad = SimpleUploadedFile("s.json", b"not json")
    response = login(outsider).post(
        reverse("setup:transfer"), {"imprint": imprint_b.pk, "file": bad}
    )
    assert response.status_code == 400 and b"not JSON" in response.content


def test_seed_setup_binds_by_name_and_skips_unsynced(imprint_a, territories, capsys):
    ExstreamCommunicationFactory.create(
        name="Royalty statement",
        channels=["print", "email"],
        driver_fields=[
            {"name": "payeeName", "required": True},
            {"name": "totalRoyalty", "required": True},
            {"name": "periodEnd", "required": False},
            {"name": "mystery", "required": False},
        ],
    )
    call_command("seed_setup")
    out = capsys.readouterr().out
    assert "Skipped templates for 'Rights confirmation letter'" in out
    templates = CommunicationTemplate.objects.filter(imprint=imprint_a)
    assert {t.name for t in templates} == {"Royalty statement", "Royalty statement (US)"}
    gb = templates.get(name="Royalty statement")
    assert gb.channels == ["print", "email"]
    mapped = dict(gb.mappings.values_list("driver_field", "context_field"))
    assert mapped == {
        "payeeName": "recipient.name",
        "totalRoyalty": "royalty.total",
        "periodEnd": "royalty.period_end",
    }
    assert TriggerRule.objects.filter(imprint=imprint_a).count() == 8
    call_command("seed_setup")  # idempotent
    assert CommunicationTemplate.objects.filter(imprint=imprint_a).count() == 2


def test_import_refuses_duplicates_and_wrong_shapes(imprint_b, outsider):
    data = {
        "format": "colophon-setup/1",
        "audiences": [{"name": "A", "kind": "contributors"}] * 2,
        "templates": "nope",
    }
    with pytest.raises(ImportRefused) as err:
        setup_import(actor=outsider, imprint=imprint_b, data=data)
    assert "'audiences' lists A more than once." in err.value.messages
    assert "'templates' must be a list of objects." in err.value.messages
    assert not Audience.objects.filter(imprint=imprint_b).exists()
