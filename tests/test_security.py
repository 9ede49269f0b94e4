"""Security properties users and operators rely on: CSRF on staff POSTs, production cookie and
transport settings, upload limits and content checks, formula-safe CSV exports, the sandboxed
preview frame, and API relation fields that never list or accept another imprint's objects."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from integration.models import (
    AudienceMember,
    FieldMapping,
    RoyaltyImport,
    SyncRun,
    Work,
)
from integration.views.exstream import PREVIEW_HTML_CSP
from tests.factories import (
    AudienceFactory,
    CommunicationFactory,
    CommunicationTemplateFactory,
    CustomerServiceOutcomeFactory,
    MessageFactory,
    PreviewOutputFactory,
    RoyaltyImportFactory,
    WorkFactory,
)
from tests.test_platform import ROOT, _manage

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- CSRF ---------------------------------------------------------------------------------------


def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


STAFF_POSTS = [
    ("sync:start", {}),
    ("switch_imprint", {}),
    ("setup:create", {"kind": "audiences"}),
    ("communications:new", {}),
    ("imports:onix", {}),
    ("actions:import", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), STAFF_POSTS)
def test_staff_posts_without_a_csrf_token_are_refused(name, kwargs, admin_a):
    before = (SyncRun.objects.count(), Work.objects.count())
    response = _csrf_client(admin_a).post(reverse(name, kwargs=kwargs or None), {})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert (SyncRun.objects.count(), Work.objects.count()) == before


def test_a_post_with_the_token_from_the_page_is_accepted(admin_a, imprint_a):
    client = _csrf_client(admin_a)
    page = client.get(reverse("setup:create", kwargs={"kind": "audiences"}))
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    response = client.post(
        reverse("setup:create", kwargs={"kind": "audiences"}),
        {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "imprint": imprint_a.pk,
            "name": "Booksellers",
            "kind": "contributors",
        },
    )
    assert response.status_code != 403


def test_htmx_requests_carry_the_token_in_a_header(admin_a):
    """base.html puts the token in hx-headers, so every hx-post is protected too."""
    client = _csrf_client(admin_a)
    page = client.get(reverse("titles:list")).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page)
    assert token is not None
    refused = client.post(reverse("sync:start"), HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    accepted = client.post(
        reverse("sync:start"), HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token.group(1)
    )
    assert accepted.status_code == 302


def test_api_session_writes_need_the_token_too(admin_a, imprint_a):
    response = _csrf_client(admin_a).post(
        "/api/v1/audiences/",
        {"imprint": imprint_a.pk, "name": "Sneaky", "kind": "contributors"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_every_post_form_in_the_templates_has_a_csrf_token():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        forms = re.findall(r"<form[^>]*>.*?</form>", text, flags=re.S | re.I)
        for form in forms:
            if re.search(r'method="post"', form, flags=re.I):
                assert "{% csrf_token %}" in form, f"{path}: a POST form without csrf_token"


# --- production settings ------------------------------------------------------------------------


def test_production_cookies_hsts_and_ssl_redirect():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) "
        "for k in ['SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
        "'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'X_FRAME_OPTIONS', 'SECURE_CONTENT_TYPE_NOSNIFF', "
        "'SESSION_COOKIE_AGE', 'DEBUG', 'FILE_UPLOAD_MAX_BYTES']}))"
    )
    result = _manage(
        "shell",
        "-c",
        script,
        env={
            "DEBUG": "false",
            "SECRET_KEY": "x" * 30 + "production-like-secret-key-0123456789",
            "ALLOWED_HOSTS": "colophon.example.com",
            "DATABASE_URL": "sqlite:///:memory:",
        },
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["X_FRAME_OPTIONS"] == "DENY" and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["SESSION_COOKIE_AGE"] <= 8 * 3600
    assert values["FILE_UPLOAD_MAX_BYTES"] <= 100 * 1024 * 1024


def test_session_cookie_is_httponly_and_samesite_on_sign_in(admin_a, password):
    client = Client()
    response = client.post(
        reverse("login"), {"username": admin_a.email, "password": password}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


# --- uploads ------------------------------------------------------------------------------------


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_uploads_beyond_the_hard_limit_are_refused_while_streaming(
    login, royalties, imprint_a, settings
):
    settings.FILE_UPLOAD_MAX_BYTES = 2048
    response = login(royalties).post(
        reverse("imports:royalties"),
        {"imprint": imprint_a.pk, "file": _file("big.csv", b"a,b\n" * 1000)},
    )
    assert response.status_code == 400
    assert not RoyaltyImport.objects.exists()


@pytest.mark.parametrize(
    ("module", "name", "url_name", "extra"),
    [
        ("integration.views.imports", "IMPORT_MAX_BYTES", "imports:royalties", {"imprint": True}),
        ("integration.views.imports", "IMPORT_MAX_BYTES", "imports:onix", {"imprint": True}),
        ("integration.forms.status", "CSV_MAX_BYTES", "actions:import", {}),
        (
            "integration.forms.status",
            "CSV_MAX_BYTES",
            "reports:customer_service_import",
            {"imprint": True},
        ),
    ],
)
def test_each_upload_form_has_a_size_limit_with_a_readable_message(
    module, name, url_name, extra, login, admin_a, imprint_a, monkeypatch
):
    monkeypatch.setattr(f"{module}.{name}", 100)
    data = {"file": _file("file.csv", b"x" * 200)}
    if extra.get("imprint"):
        data["imprint"] = imprint_a.pk
    response = login(admin_a).post(reverse(url_name), data)
    assert response.status_code in (200, 400)  # the form again, with the error
    assert b"larger than" in response.content


def test_audience_list_upload_checks_size_type_and_content(login, admin_a, imprint_a, monkeypatch):
    audience = AudienceFactory.create(imprint=imprint_a, kind="uploaded")
    url = reverse("setup:audience_upload", kwargs={"pk": audience.pk})
    api = f"/api/v1/audiences/{audience.pk}/upload/"
    client = login(admin_a)
    # not a CSV by name
    response = client.post(url, {"file": _file("list.xlsx", b"PK\x03\x04")}, follow=True)
    assert b"Upload a .csv file" in response.content
    response = client.post(api, {"file": _file("list.exe", b"MZ")})
    assert response.status_code == 400 and ".csv" in str(response.json())
    # a binary file named .csv
    response = client.post(api, {"file": _file("list.csv", b"\x89PNG\r\n\x1a\n\xff\xfe")})
    assert response.status_code == 400
    # too large
    monkeypatch.setattr("integration.api.setup.CSV_MAX_BYTES", 10)
    response = client.post(api, {"file": _file("list.csv", b"email,name\n" + b"a" * 50)})
    assert response.status_code == 400 and "larger than" in str(response.json())
    assert not AudienceMember.objects.exists()


def test_status_csv_that_is_not_text_is_refused_readably(login, admin_a):
    response = login(admin_a).post(
        reverse("actions:import"), {"file": _file("status.csv", b"\xff\xfe\x00\x89PNG")}
    )
    assert response.status_code == 400
    assert b"UTF-8" in response.content


def test_onix_with_an_external_entity_imports_nothing_and_reads_no_file(login, admin_a, imprint_a):
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE ONIXMessage [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<ONIXMessage release="3.0"><Product><RecordReference>&x;</RecordReference></Product>'
        b"</ONIXMessage>"
    )
    response = login(admin_a).post(
        reverse("imports:onix"), {"imprint": imprint_a.pk, "file": _file("x.xml", xxe)}
    )
    assert response.status_code == 200
    assert b"root:" not in response.content
    assert not Work.objects.exists()
    run = SyncRun.objects.get(kind="onix")
    assert run.status == SyncRun.Status.FAILED and "root:" not in run.message + str(run.errors)


def test_a_royalty_file_named_xlsx_that_is_not_one_is_refused(login, royalties, imprint_a):
    response = login(royalties).post(
        reverse("imports:royalties"),
        {"imprint": imprint_a.pk, "file": _file("r.xlsx", b"not a zip at all")},
    )
    assert response.status_code in (200, 302)
    record = RoyaltyImport.objects.get()
    assert record.imported is False and record.errors


# --- CSV exports --------------------------------------------------------------------------------

NASTY = '=HYPERLINK("http://evil.test","x")'


def _cells(body: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row]


def _assert_inert(cells: list[str]) -> None:
    assert any(NASTY in c for c in cells), "the hostile value should be in the export"
    for c in cells:
        assert not c.startswith(FORMULA_STARTS), f"{c!r} would run as a formula"


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def test_royalty_error_report_is_formula_safe(login, royalties, imprint_a):
    record = RoyaltyImportFactory.create(
        imprint=imprint_a,
        errors=[{"row": 2, "column": "payee", "value": NASTY, "error": "-unknown payee"}],
    )
    response = login(royalties).get(reverse("imports:royalty_errors", kwargs={"pk": record.pk}))
    assert response.status_code == 200
    _assert_inert(_cells(_body(response)))


def test_timeline_export_is_formula_safe(login, admin_a, imprint_a):
    work = WorkFactory.create(imprint=imprint_a)
    comm = CommunicationFactory.create(work=work, name=NASTY)
    MessageFactory.create(communication=comm, recipient_name=NASTY)
    response = login(admin_a).get(reverse("timeline:export", kwargs={"work_id": work.pk}))
    assert response.status_code == 200
    _assert_inert(_cells(_body(response)))


def test_customer_service_export_is_formula_safe(login, admin_a, imprint_a):
    work = WorkFactory.create(imprint=imprint_a, title=NASTY)
    CustomerServiceOutcomeFactory.create(imprint=imprint_a, work=work, case_reference="CS-1")
    response = login(admin_a).get(reverse("reports:customer_service_export"))
    assert response.status_code == 200
    _assert_inert(_cells(_body(response)))


def test_audience_export_is_formula_safe(login, admin_a, imprint_a):
    audience = AudienceFactory.create(imprint=imprint_a, kind="uploaded")
    AudienceMember.objects.create(
        audience=audience, row_number=1, email="a@authors.test", name=NASTY, country="GB"
    )
    response = login(admin_a).get(reverse("setup:audience_export", kwargs={"pk": audience.pk}))
    assert response.status_code == 200
    _assert_inert(_cells(_body(response)))


# Every module that writes CSV, and the test above that proves it formula-safe.
CSV_WRITERS = {
    "integration/setup/audiences.py": "test_audience_export_is_formula_safe",
    "integration/catalogue/royalty_import.py": "test_royalty_error_report_is_formula_safe",
    "integration/views/status.py": "test_timeline_export_is_formula_safe",
}


def test_every_csv_writer_is_known_and_escapes_cells():
    """A new csv.writer must be added here (with its test) and use spreadsheet_safe."""
    found = set()
    for folder in ("accounts", "integration", "config"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if re.search(r"csv\.(writer|DictWriter)\(", text):
                rel = str(path.relative_to(ROOT))
                found.add(rel)
                assert "spreadsheet_safe" in text, f"{rel} writes CSV without spreadsheet_safe"
    assert found == set(CSV_WRITERS), f"CSV writers changed: {sorted(found)}"
    for test_name in CSV_WRITERS.values():
        assert test_name in globals()


# --- the preview frame --------------------------------------------------------------------------


@pytest.mark.parametrize("mime_type", ["text/html", "image/svg+xml", "text/plain"])
def test_preview_output_is_served_sandboxed_without_scripts(mime_type, login, admin_a, imprint_a):
    output = PreviewOutputFactory.create(imprint=imprint_a, mime_type=mime_type)
    output.content.save("p.html", io.BytesIO(b"<p>Hi</p><script>alert(1)</script>"))
    response = login(admin_a).get(reverse("exstream:preview_output_raw", kwargs={"pk": output.pk}))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert csp == PREVIEW_HTML_CSP
    assert "sandbox" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'self'" in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_other_pages_may_not_be_framed_and_allow_no_inline_script(login, admin_a):
    response = login(admin_a).get(reverse("titles:list"))
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


# --- API relations ------------------------------------------------------------------------------


def test_api_refuses_another_imprints_object_as_a_relation(login, outsider, imprint_a, imprint_b):
    template = CommunicationTemplateFactory.create(imprint=imprint_a, name="Harbour letter")
    client = login(outsider)
    response = client.post(
        "/api/v1/mappings/",
        {"template": template.pk, "driver_field": "workTitle", "context_field": "work.title"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["error"]["details"]["template"])
    assert not FieldMapping.objects.exists()
    # ... and the browsable API's form does not list it.
    page = client.get("/api/v1/mappings/", HTTP_ACCEPT="text/html").content.decode()
    assert "Harbour letter" not in page and "Harbour Lights" not in page


def test_swagger_and_schema_describe_the_api_without_data(login, outsider, imprint_a):
    WorkFactory.create(imprint=imprint_a, title="Lantern Secrets")
    client = login(outsider)
    for url in ("/api/schema/", "/api/docs/"):
        response = client.get(url)
        assert response.status_code == 200
        assert b"Lantern Secrets" not in response.content
