"""Setup screens: imprint admins configure, other staff look, outsiders see nothing (404)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from accounts.models import AuditEvent
from integration.models import Audience, CommunicationTemplate, ComplianceRule, ImprintTypeSetting
from tests.factories import (
    AudienceFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ExstreamCommunicationFactory,
    FieldMappingFactory,
    TriggerRuleFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(imprint_a, imprint_b):
    a_tpl = CommunicationTemplateFactory.create(imprint=imprint_a, name="Harbour letter")
    b_tpl = CommunicationTemplateFactory.create(imprint=imprint_b, name="Northwind letter")
    return {
        "a_tpl": a_tpl,
        "b_tpl": b_tpl,
        "a_aud": AudienceFactory.create(imprint=imprint_a, name="Harbour authors"),
        "b_aud": AudienceFactory.create(imprint=imprint_b, name="Northwind authors"),
        "a_rule": ComplianceRuleFactory.create(imprint=imprint_a, name="Harbour consent"),
        "b_rule": ComplianceRuleFactory.create(imprint=imprint_b, name="Northwind consent"),
        "a_trig": TriggerRuleFactory.create(imprint=imprint_a, name="Harbour trigger"),
        "b_trig": TriggerRuleFactory.create(imprint=imprint_b, name="Northwind trigger"),
    }


def test_nav_entry_and_index(login, admin_a, viewer, objects):
    response = login(admin_a).get(reverse("home"))
    assert reverse("setup:index").encode() in response.content
    response = login(viewer).get(reverse("setup:index"))
    assert response.status_code == 200
    assert b"only imprint admins change setup" in response.content


@pytest.mark.parametrize(
    ("kind", "mine", "theirs"),
    [
        ("templates", "Harbour letter", "Northwind letter"),
        ("audiences", "Harbour authors", "Northwind authors"),
        ("rules", "Harbour consent", "Northwind consent"),
        ("triggers", "Harbour trigger", "Northwind trigger"),
    ],
)
def test_lists_show_only_own_imprint(login, viewer, outsider, objects, kind, mine, theirs):
    body = login(viewer).get(reverse("setup:list", args=[kind])).content.decode()
    assert mine in body and theirs not in body
    body = login(outsider).get(reverse("setup:list", args=[kind])).content.decode()
    assert theirs in body and mine not in body


def test_outsider_gets_404_for_other_imprints_objects(login, outsider, objects):
    client = login(outsider)
    for url in [
        reverse("setup:template_detail", args=[objects["a_tpl"].pk]),
        reverse("setup:template_try", args=[objects["a_tpl"].pk]),
        reverse("setup:edit", args=["templates", objects["a_tpl"].pk]),
        reverse("setup:audience_detail", args=[objects["a_aud"].pk]),
        reverse("setup:audience_export", args=[objects["a_aud"].pk]),
        reverse("setup:edit", args=["rules", objects["a_rule"].pk]),
        reverse("setup:delete", args=["triggers", objects["a_trig"].pk]),
        reverse("setup:mapping_create", args=[objects["a_tpl"].pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_viewer_may_look_but_not_change(login, viewer, objects):
    client = login(viewer)
    assert (
        client.get(reverse("setup:template_detail", args=[objects["a_tpl"].pk])).status_code == 200
    )
    assert (
        client.get(reverse("setup:edit", args=["templates", objects["a_tpl"].pk])).status_code
        == 403
    )
    assert client.get(reverse("setup:create", args=["audiences"])).status_code == 403
    response = client.post(reverse("setup:delete", args=["rules", objects["a_rule"].pk]))
    assert response.status_code == 403
    assert client.get(reverse("setup:transfer")).status_code == 403


def test_admin_creates_template_and_it_is_audited(login, admin_a, imprint_a, territories):
    comm = ExstreamCommunicationFactory.create(channels=["print", "email"])
    client = login(admin_a)
    data = {
        "imprint": imprint_a.pk,
        "name": "Rights letter GB",
        "communication_type": communication_type().pk,
        "exstream_communication": comm.pk,
        "channels": ["print"],
        "territory_code": "gb",
        "language": "en",
        "locale": "en-GB",
        "effective_from": "2026-01-01",
        "version": 1,
        "status": "active",
    }
    response = client.post(reverse("setup:create", args=["templates"]), data)
    template = CommunicationTemplate.objects.get(name="Rights letter GB")
    assert response.status_code == 302
    assert template.territory_code == "GB"
    event = AuditEvent.objects.get(verb="setup.communicationtemplate_created")
    assert event.actor == admin_a and event.imprint_id == imprint_a.pk
    # Edit: the diff is recorded.
    data["status"] = "retired"
    client.post(reverse("setup:edit", args=["templates", template.pk]), data)
    changed = AuditEvent.objects.get(verb="setup.communicationtemplate_changed")
    assert changed.data["changes"]["status"] == {"from": "active", "to": "retired"}


def test_template_form_errors_are_readable_and_change_nothing(login, admin_a, imprint_a):
    comm = ExstreamCommunicationFactory.create(channels=["print"], name="Print only")
    response = login(admin_a).post(
        reverse("setup:create", args=["templates"]),
        {
            "imprint": imprint_a.pk,
            "name": "Bad",
            "communication_type": communication_type().pk,
            "exstream_communication": comm.pk,
            "channels": ["sms"],
            "territory_code": "ZZ",
            "locale": "en-GB",
            "effective_from": "2026-02-01",
            "effective_to": "2026-01-01",
            "version": 1,
            "status": "draft",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "has no sms output; it offers print" in body
    assert "No territory has the code" in body
    assert "Ends before it starts." in body
    assert not CommunicationTemplate.objects.filter(name="Bad").exists()


def test_admin_cannot_create_for_another_imprint(login, admin_a, imprint_b):
    response = login(admin_a).post(
        reverse("setup:create", args=["audiences"]),
        {"imprint": imprint_b.pk, "name": "Sneaky", "kind": "contributors"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Audience.objects.filter(name="Sneaky").exists()


def test_mapping_screen_validation_and_try(login, admin_a, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    client = login(admin_a)
    detail = client.get(reverse("setup:template_detail", args=[template.pk])).content.decode()
    assert "Required Exstream driver field &#x27;recipientName&#x27; is not mapped" in detail
    response = client.post(
        reverse("setup:mapping_create", args=[template.pk]),
        {"driver_field": "workTitle", "context_field": "work.title", "transforms": "[{bad"},
    )
    assert "These steps cannot be read" in response.content.decode()
    response = client.post(
        reverse("setup:mapping_create", args=[template.pk]),
        {
            "driver_field": "workTitle",
            "context_field": "work.title",
            "shape": "upper",  # picked from a list, no JSON typed
            "required": "on",
        },
    )
    assert response.status_code == 302
    mapping = template.mappings.get(driver_field="workTitle")
    assert mapping.transforms == [{"op": "upper"}]
    edit = client.get(reverse("setup:mapping_edit", args=[template.pk, mapping.pk])).content
    assert b'<option value="upper" selected>UPPER CASE</option>' in edit
    WorkFactory.create(imprint=imprint_a, title="Salt Roads")
    tried = client.get(
        reverse("setup:template_try", args=[template.pk]), {"title": "salt"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "SALT ROADS" in tried
    assert "recipientName" in tried  # named as unmapped


def test_try_never_reaches_another_imprints_titles(login, admin_a, imprint_a, imprint_b):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    FieldMappingFactory.create(template=template)
    other = WorkFactory.create(imprint=imprint_b, title="Secret Northwind Title")
    body = (
        login(admin_a)
        .get(reverse("setup:template_try", args=[template.pk]), {"work": other.pk})
        .content.decode()
    )
    assert "Secret Northwind Title" not in body and "SECRET" not in body


def test_resolve_screen_explains(login, viewer, imprint_a, objects):
    body = (
        login(viewer)
        .get(
            reverse("setup:resolve"),
            {
                "communication_type": communication_type().pk,
                "imprint": imprint_a.pk,
                "territory_code": "GB",
                "language": "en",
                "on_date": "2026-06-01",
            },
        )
        .content.decode()
    )
    assert "Harbour letter v1 applies" in body
    assert "Northwind letter" not in body


def test_auto_approval_is_admin_only_and_audited(login, admin_a, marketing, outsider, imprint_a):
    ctype = communication_type("launch-announcement")
    url = reverse("setup:type_auto_approval", args=[ctype.pk])
    assert (
        login(marketing).post(url, {"imprint": imprint_a.pk, "auto_approvable": "on"}).status_code
        == 403
    )
    assert (
        login(outsider).post(url, {"imprint": imprint_a.pk, "auto_approvable": "on"}).status_code
        == 404
    )
    assert not ImprintTypeSetting.objects.exists()
    assert (
        login(admin_a).post(url, {"imprint": imprint_a.pk, "auto_approvable": "on"}).status_code
        == 302
    )
    assert ImprintTypeSetting.objects.get(
        imprint=imprint_a, communication_type=ctype
    ).auto_approvable
    event = AuditEvent.objects.get(verb="setup.auto_approval_changed")
    assert event.data == {"communication_type": "launch-announcement", "from": False, "to": True}
    page = login(admin_a).get(reverse("setup:types")).content.decode()
    assert "Launch announcement" in page and "checked" in page


def test_csv_upload_screen_reports_rows_and_stores_nothing(login, admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind=Audience.Kind.UPLOADED)
    bad = SimpleUploadedFile("m.csv", b"email,name,country,consent,channel\nx,Ann,GB,yes,email\n")
    response = login(admin_a).post(
        reverse("setup:audience_upload", args=[audience.pk]), {"file": bad}
    )
    assert response.status_code == 400
    assert "Row 2, column &#x27;email&#x27;" in response.content.decode()
    assert not audience.members.exists()
    good = SimpleUploadedFile(
        "m.csv", b"email,name,country,consent,channel\na@x.test,Ann,GB,yes,email\n"
    )
    login(admin_a).post(reverse("setup:audience_upload", args=[audience.pk]), {"file": good})
    detail = (
        login(admin_a).get(reverse("setup:audience_detail", args=[audience.pk])).content.decode()
    )
    assert "a@x.test" in detail


def test_segment_audience_says_count_unknown(login, viewer, imprint_a):
    audience = AudienceFactory.create(
        imprint=imprint_a, kind=Audience.Kind.SEGMENT, segment_id="S1"
    )
    body = login(viewer).get(reverse("setup:audience_detail", args=[audience.pk])).content.decode()
    assert "not known until the communication is sent" in body


def test_imprint_switcher_narrows_lists(login, superuser, objects, imprint_b):
    client = login(superuser)
    session = client.session
    session[SESSION_KEY] = imprint_b.pk
    session.save()
    body = client.get(reverse("setup:list", args=["audiences"])).content.decode()
    assert "Northwind authors" in body and "Harbour authors" not in body


def test_delete_refuses_when_in_use(login, admin_a, objects):
    audience = objects["a_trig"].audience
    response = login(admin_a).post(
        reverse("setup:delete", args=["audiences", audience.pk]), follow=True
    )
    assert "is still used by" in response.content.decode()
    assert Audience.objects.filter(pk=audience.pk).exists()


def test_every_screen_renders_for_an_admin(login, admin_a, objects, territories):
    client = login(admin_a)
    template = objects["a_tpl"]
    mapping = FieldMappingFactory.create(template=template)
    urls = [
        reverse("setup:index"),
        reverse("setup:types"),
        reverse("setup:resolve"),
        reverse("setup:transfer"),
        reverse("setup:template_detail", args=[template.pk]),
        reverse("setup:mapping_create", args=[template.pk]),
        reverse("setup:mapping_edit", args=[template.pk, mapping.pk]),
        reverse("setup:audience_detail", args=[objects["a_aud"].pk]),
    ]
    for kind in ("templates", "audiences", "rules", "triggers"):
        obj = objects[
            {"templates": "a_tpl", "audiences": "a_aud", "rules": "a_rule", "triggers": "a_trig"}[
                kind
            ]
        ]
        urls += [
            reverse("setup:list", args=[kind]),
            reverse("setup:create", args=[kind]),
            reverse("setup:edit", args=[kind, obj.pk]),
            reverse("setup:delete", args=[kind, obj.pk]),
        ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"style=" not in response.content, url
    assert client.get(reverse("setup:list", args=["nonsense"])).status_code == 404


def test_list_pagination_and_name_filter(login, admin_a, imprint_a):
    for i in range(30):
        AudienceFactory.create(imprint=imprint_a, name=f"List {i:02d}")
    client = login(admin_a)
    first = client.get(reverse("setup:list", args=["audiences"])).content.decode()
    assert "Page 1 of 2" in first
    page2 = client.get(reverse("setup:list", args=["audiences"]), {"page": 2}).content.decode()
    assert "List 29" in page2
    filtered = client.get(
        reverse("setup:list", args=["audiences"]), {"q": "List 07"}
    ).content.decode()
    assert "List 07" in filtered and "List 08" not in filtered


def test_try_without_javascript_is_a_whole_page(login, admin_a, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    FieldMappingFactory.create(
        template=template, driver_field="workTitle", context_field="work.title"
    )
    WorkFactory.create(imprint=imprint_a, title="Salt Roads")
    client = login(admin_a)
    url = reverse("setup:template_try", args=[template.pk])
    page = client.get(url, {"title": "salt"}).content.decode()
    assert "<html" in page and "Driver data for <strong>Salt Roads</strong>" in page
    fragment = client.get(url, {"title": "salt"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "Salt Roads" in fragment
    nothing = client.get(url, {"title": "no such book"}, HTTP_HX_REQUEST="true").content.decode()
    assert "No title matches “no such book”" in nothing


def test_sending_window_weekdays_are_ticked_not_typed(login, admin_a, imprint_a):
    client = login(admin_a)
    page = client.get("/setup/rules/new/").content.decode()
    assert '<input type="checkbox" name="weekdays" value="0" id="id_weekdays_0">' in page
    assert "Monday" in page and "0 = Monday" not in page
    base = {
        "imprint": imprint_a.pk,
        "name": "Office days",
        "kind": "sending_window",
        "severity": "blocking",
        "start_hour": 9,
        "end_hour": 18,
        "active": "on",
    }
    bad = client.post("/setup/rules/new/", {**base, "weekdays": ["9"]})
    assert bad.status_code == 200 and not ComplianceRule.objects.exists()
    client.post("/setup/rules/new/", {**base, "weekdays": ["0", "2", "4"]})
    rule = ComplianceRule.objects.get()
    assert rule.weekdays == [0, 2, 4]
    edit = client.get(f"/setup/rules/{rule.pk}/edit/").content.decode()
    assert 'value="2" id="id_weekdays_2" checked>' in edit
    assert 'value="1" id="id_weekdays_1">' in edit


def test_more_steps_win_over_the_list_and_stay_editable(login, admin_a, imprint_a):
    template = CommunicationTemplateFactory.create(imprint=imprint_a)
    client = login(admin_a)
    steps = '[{"op": "default", "value": "n/a"}, {"op": "upper"}]'
    response = client.post(
        reverse("setup:mapping_create", args=[template.pk]),
        {"driver_field": "isbn", "context_field": "product.isbn", "shape": "lower",
         "transforms": steps},
    )  # fmt: skip
    assert response.status_code == 302
    mapping = template.mappings.get(driver_field="isbn")
    assert mapping.transforms == [{"op": "default", "value": "n/a"}, {"op": "upper"}]
    edit = client.get(reverse("setup:mapping_edit", args=[template.pk, mapping.pk]))
    html = edit.content.decode()
    assert "&quot;default&quot;" in html  # not a preset: shown in "More steps"
    detail = client.get(reverse("setup:template_detail", args=[template.pk])).content.decode()
    assert "“n/a” when empty, then UPPER CASE" in detail
