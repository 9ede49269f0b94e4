"""The policy sweep: every URL of the project, asked for imprint A's objects by someone who
belongs only to imprint B, must answer 403 or 404 and never show imprint A's data.

The sweep walks ``get_resolver()`` recursively, so a URL added tomorrow is swept too: every URL
name must either have an entry in ``KWARGS`` (how to fill its path with imprint A's ids) or in
``ALLOW_LIST`` (with the reason it is outside the sweep). ``test_every_url_is_covered`` fails
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.audit import log_action
from accounts.models import Imprint, User
from integration.models import (
    Audience,
    AudienceMember,
    ChangeEvent,
    Communication,
    CommunicationTemplate,
    ComplianceRule,
    ContributorAction,
    CustomerServiceOutcome,
    ExstreamJob,
    FieldMapping,
    ImprintTypeSetting,
    Message,
    MessageEvent,
    OutboxItem,
    PayeeProfile,
    RoyaltyStatement,
    StatementRule,
    TriggerRule,
    WritebackRule,
)
from tests.factories import (
    AudienceFactory,
    CommunicationFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ContactFactory,
    ContractFactory,
    ContributorActionFactory,
    CustomerServiceOutcomeFactory,
    ExstreamJobFactory,
    FieldMappingFactory,
    GratisCopyFactory,
    MessageFactory,
    OutboxItemFactory,
    PreviewOutputFactory,
    ProductFactory,
    RoyaltyImportFactory,
    SyncRunFactory,
    TriggerRuleFactory,
    WorkFactory,
    WritebackRecordFactory,
)

# Every object of imprint A carries this marker in a field that screens show; no response to
# the outsider may contain it (compared case-insensitively).
SECRET = "Zephyrquill"

# URL names outside the sweep, each with the reason.
ALLOW_LIST: dict[str, str] = {
    # Health probe for the load balancer: no data, no session.
    "healthz": "liveness probe; returns only ok/degraded",
    # Django's own authentication pages: public by design.
    "login": "auth page",
    "logout": "auth page",
    "password_change": "auth page (own account only)",
    "password_change_done": "auth page",
    "password_reset": "auth page",
    "password_reset_done": "auth page",
    "password_reset_confirm": "auth page (signed token)",
    "password_reset_complete": "auth page",
    # Signed with an HMAC and a replay window; tested in tests/integration/exstream.
    "webhook-exstream": "signed webhook, no session; signature tests cover it",
}
# URL prefixes outside the sweep: the built-in emulations of Consonance and Exstream (not part
# of the product; off in production), Django's admin (superusers only), static files.
ALLOW_PREFIXES = ("sandbox/", "admin/", "static/")


@dataclass
class World:
    """Imprint A's objects, one of each."""

    imprint_a: Imprint
    imprint_b: Imprint
    ids: dict[str, int]
    message_key: str


Kwargs = Callable[[World], dict[str, Any]]


def _pk(key: str) -> Kwargs:
    return lambda w: {"pk": w.ids[key]}


# URL name -> the ways to fill its kwargs with imprint A's ids (one request set per entry).
# Names without kwargs map to [{}]: they are still requested by the outsider and checked for
# imprint A's data (lists, exports, reports, the API root and schema).
KWARGS: dict[str, list[Kwargs]] = {
    # accounts
    "home": [lambda w: {}],
    "switch_imprint": [lambda w: {}],
    "audit_log": [lambda w: {}],
    # API docs
    "api-schema": [lambda w: {}],
    "api-docs": [lambda w: {}],
    "api-redoc": [lambda w: {}],
    "api-root": [lambda w: {}],
    # API v1
    "title-timeline": [_pk("work")],
    "message-status": [lambda w: {}],
    "communication-type-list": [lambda w: {}],
    "communication-type-detail": [lambda w: {"pk": w.ids["communication_type"]}],
    "communication-type-auto-approval": [lambda w: {"pk": w.ids["communication_type"]}],
    "template-list": [lambda w: {}],
    "template-resolve": [lambda w: {}],
    "template-detail": [_pk("template")],
    "template-try-": [_pk("template")],
    "mapping-list": [lambda w: {}],
    "mapping-detail": [_pk("mapping")],
    "audience-list": [lambda w: {}],
    "audience-detail": [_pk("audience")],
    "audience-recipients": [_pk("audience")],
    "audience-upload": [_pk("audience")],
    "compliance-rule-list": [lambda w: {}],
    "compliance-rule-detail": [_pk("rule")],
    "trigger-list": [lambda w: {}],
    "trigger-detail": [_pk("trigger")],
    "statement-rule-list": [lambda w: {}],
    "statement-rule-detail": [_pk("statement_rule")],
    "payee-profile-list": [lambda w: {}],
    "payee-profile-detail": [_pk("payee_profile")],
    "royalty-import-statements": [_pk("royalty_import")],
    "title-launch": [_pk("work")],
    "partner-notices": [lambda w: {}],
    "setup-transfer-detail": [lambda w: {"pk": w.imprint_a.pk}],
    "contributor-action-list": [lambda w: {}],
    "contributor-action-detail": [_pk("action")],
    "contributor-action-record-response": [_pk("action")],
    "contributor-action-remind": [_pk("action")],
    "writeback-list": [lambda w: {}],
    "writeback-detail": [_pk("writeback")],
    "customer-service-outcome-list": [lambda w: {}],
    "customer-service-outcome-detail": [_pk("outcome")],
    "communication-list": [lambda w: {}],
    "communication-detail": [_pk("communication")],
    "communication-approve": [_pk("communication")],
    "communication-cancel": [_pk("communication")],
    "communication-messages": [_pk("communication")],
    "communication-preview": [_pk("communication")],
    "communication-reject": [_pk("communication")],
    "communication-replay": [_pk("communication")],
    "communication-submit": [_pk("communication")],
    "title-list": [lambda w: {}],
    "title-detail": [_pk("work")],
    "sync-run-list": [lambda w: {}],
    "sync-run-detail": [_pk("onix_run")],
    "exstream-communication-list": [lambda w: {}],
    "exstream-communication-detail": [_pk("exstream_communication")],
    # Staff screens
    "timeline:title": [lambda w: {"work_id": w.ids["work"]}],
    "timeline:export": [lambda w: {"work_id": w.ids["work"]}],
    "timeline:orphans": [lambda w: {}],
    "actions:board": [lambda w: {}],
    "actions:import": [lambda w: {}],
    "actions:writeback_rules": [lambda w: {}],
    "actions:detail": [_pk("action")],
    "actions:record": [_pk("action")],
    "actions:assign": [_pk("action")],
    "actions:remind": [_pk("action")],
    "reports:customer_service": [lambda w: {}],
    "reports:customer_service_export": [lambda w: {}],
    "reports:customer_service_import": [lambda w: {}],
    "communications:list": [lambda w: {}],
    "communications:new": [lambda w: {}],
    "communications:contract_options": [lambda w: {}],
    "communications:approvals": [lambda w: {}],
    "communications:partner_notices": [lambda w: {}],
    "communications:detail": [_pk("communication")],
    "communications:progress": [_pk("communication")],
    "communications:action": [
        (lambda w, a=a: {"pk": w.ids["communication"], "action": a})  # type: ignore[misc]
        for a in ("submit", "approve", "reject", "cancel", "recompose", "preview", "replay")
    ],
    "titles:list": [lambda w: {}],
    "titles:detail": [_pk("work")],
    "titles:launch": [_pk("work")],
    "statements:rules": [lambda w: {}],
    "statements:rule_create": [lambda w: {}],
    "statements:rule_edit": [_pk("statement_rule")],
    "statements:rule_delete": [_pk("statement_rule")],
    "statements:payees": [lambda w: {}],
    "statements:payee_create": [lambda w: {}],
    "statements:payee_edit": [_pk("payee_profile")],
    "statements:payee_delete": [_pk("payee_profile")],
    "sync:index": [lambda w: {}],
    "sync:start": [lambda w: {}],
    "imports:onix": [lambda w: {}],
    "imports:royalties": [lambda w: {}],
    "imports:royalty_errors": [_pk("royalty_import")],
    "imports:royalty_statements": [_pk("royalty_import")],
    "exstream:communications": [lambda w: {}],
    "exstream:sync": [lambda w: {}],
    "exstream:preview_output": [_pk("preview_output")],
    "exstream:preview_output_raw": [_pk("preview_output")],
    "exstream:jobs": [lambda w: {}],
    "exstream:job_action": [
        (lambda w, a=a: {"pk": w.ids["job"], "action": a})  # type: ignore[misc]
        for a in ("release", "stop", "reprocess", "poll")
    ],
    "operations:index": [lambda w: {}],
    "operations:outbox": [lambda w: {}],
    "operations:outbox_replay": [_pk("outbox")],
    "operations:outbox_cancel": [_pk("outbox")],
    "setup:index": [lambda w: {}],
    "setup:types": [lambda w: {}],
    "setup:type_auto_approval": [lambda w: {"pk": w.ids["communication_type"]}],
    "setup:resolve": [lambda w: {}],
    "setup:transfer": [lambda w: {}],
    "setup:export": [lambda w: {"imprint_pk": w.imprint_a.pk}],
    "setup:template_detail": [_pk("template")],
    "setup:template_try": [_pk("template")],
    "setup:mapping_create": [_pk("template")],
    "setup:mapping_edit": [lambda w: {"pk": w.ids["template"], "mapping_pk": w.ids["mapping"]}],
    "setup:mapping_delete": [lambda w: {"pk": w.ids["template"], "mapping_pk": w.ids["mapping"]}],
    "setup:audience_detail": [_pk("audience")],
    "setup:audience_upload": [_pk("audience")],
    "setup:audience_export": [_pk("audience")],
    "setup:list": [
        (lambda w, k=k: {"kind": k})  # type: ignore[misc]
        for k in ("templates", "audiences", "rules", "triggers")
    ],
    "setup:create": [
        (lambda w, k=k: {"kind": k})  # type: ignore[misc]
        for k in ("templates", "audiences", "rules", "triggers")
    ],
    "setup:edit": [
        (lambda w, k=k, key=key: {"kind": k, "pk": w.ids[key]})  # type: ignore[misc]
        for k, key in (
            ("templates", "template"),
            ("audiences", "audience"),
            ("rules", "rule"),
            ("triggers", "trigger"),
        )
    ],
    "setup:delete": [
        (lambda w, k=k, key=key: {"kind": k, "pk": w.ids[key]})  # type: ignore[misc]
        for k, key in (
            ("templates", "template"),
            ("audiences", "audience"),
            ("rules", "rule"),
            ("triggers", "trigger"),
        )
    ],
}

# Names whose pattern carries no imprint A id but which are shared by imprint-wide settings:
# the outsider may open them (200) for their own imprint; the body must still not leak A's data.
# Every other name with kwargs must answer 403 / 404.
SHARED_OBJECTS = {
    # The Exstream catalogue is shared by every imprint (no imprint of its own).
    "exstream-communication-detail",
    # Communication types are global (seeded); the per-imprint setting is keyed by the
    # caller's own imprints.
    "communication-type-detail",
    "communication-type-auto-approval",
    "setup:type_auto_approval",
    # ``kind`` is a screen section, not an object.
    "setup:list",
    "setup:create",
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    pattern: URLPattern
    has_kwargs: bool


def _walk(resolver: URLResolver, prefix: str = "", ns: str = "") -> Iterator[Route]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
            yield from _walk(p, prefix + str(p.pattern), inner or "")
        else:
            route = prefix + str(p.pattern)
            name = f"{ns}:{p.name}" if ns and p.name else (p.name or "")
            has_kwargs = bool(p.pattern.regex.groupindex.keys() - {"format"})
            yield Route(name, route, p, has_kwargs)


def swept_routes() -> dict[str, Route]:
    """URL name -> its route, for every URL outside the allow-listed prefixes."""
    routes: dict[str, Route] = {}
    for r in _walk(get_resolver()):
        if r.route.lstrip("^").startswith(ALLOW_PREFIXES):
            continue
        routes.setdefault(r.name, r)
    return routes


def _methods(route: Route) -> list[str]:
    """The methods to send: GET and POST for screens; for the API, the methods the view
    declares (DRF's router records them on the callback), plus PATCH/DELETE on details."""
    callback = route.pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(m.upper() for m in actions)
    cls = getattr(callback, "cls", None)
    if cls is not None and hasattr(cls, "http_method_names"):
        allowed = [m.upper() for m in getattr(cls, "http_method_names", [])]
        return [m for m in ("GET", "POST") if m in allowed] or ["GET"]
    return ["GET", "POST"]


@pytest.fixture
def world(imprint_a, imprint_b, outsider, admin_a) -> World:
    """One of each object in imprint A (and a few in B, so B's screens are not empty)."""
    work = WorkFactory.create(imprint=imprint_a, title=f"{SECRET} Memoir")
    product = ProductFactory.create(work=work, full_title=f"{SECRET} Memoir (hardback)")
    contact = ContactFactory.create(name=f"Ada {SECRET}")
    contract = ContractFactory.create(work=work, name=f"{SECRET} agreement")
    GratisCopyFactory.create(contract=contract, contact_consonance_id=contact.consonance_id)
    communication = CommunicationFactory.create(
        work=work,
        name=f"{SECRET} proofs",
        status=Communication.Status.SUBMITTED,
        submitted_by=admin_a,
    )
    message = MessageFactory.create(
        communication=communication,
        recipient_name=f"Ada {SECRET}",
        recipient_email="ada.zephyrquill@authors.test",
    )
    template = CommunicationTemplateFactory.create(imprint=imprint_a, name=f"{SECRET} letter")
    mapping = FieldMappingFactory.create(template=template, context_field="work.title")
    audience = AudienceFactory.create(imprint=imprint_a, name=f"{SECRET} readers")
    rule = ComplianceRuleFactory.create(imprint=imprint_a, name=f"{SECRET} consent")
    trigger = TriggerRuleFactory.create(
        imprint=imprint_a, name=f"{SECRET} trigger", audience=audience
    )
    action = ContributorActionFactory.create(
        message=message, recipient_name=f"Ada {SECRET}", response_note=f"{SECRET} note"
    )
    statement_rule = StatementRule.objects.create(
        imprint=imprint_a, name=f"{SECRET} minimum payment", note=f"{SECRET} note"
    )
    payee_profile = PayeeProfile.objects.create(
        imprint=imprint_a, contact=contact, author_group=f"{SECRET} poets"
    )
    outbox = OutboxItemFactory.create(
        imprint=imprint_a,
        work_id=work.pk,
        dead_reason=f"{SECRET} write-back refused",
        payload={"title": f"{SECRET} Memoir"},
    )
    royalty_import = RoyaltyImportFactory.create(
        imprint=imprint_a,
        filename=f"{SECRET}-royalties.csv",
        errors=[{"row": 2, "column": "title", "value": SECRET, "error": "Unknown title."}],
    )
    onix_run = SyncRunFactory.create(
        kind="onix", filename=f"{SECRET}.xml", message=f"{SECRET}: 1 title"
    )
    preview = PreviewOutputFactory.create(imprint=imprint_a, customer_key=f"{SECRET}-1")
    preview.content.save("p.html", _content(f"<p>Dear Ada {SECRET}</p>"))
    job = ExstreamJobFactory.create(
        imprint=imprint_a, external_id=f"{SECRET}-batch", last_error=f"{SECRET} held"
    )
    writeback = WritebackRecordFactory.create(
        imprint=imprint_a, work=work, summary=f"{SECRET} wrote"
    )
    outcome = CustomerServiceOutcomeFactory.create(
        imprint=imprint_a, work=work, product=product, case_reference=f"CS-{SECRET}"
    )
    # What the audit log and the timeline show: an audit row and a change event of A's title.
    log_action(
        actor=admin_a,
        verb="sweep.checked",
        target=work,
        imprint=imprint_a,
        work_id=work.pk,
        data={"title": f"{SECRET} Memoir"},
    )
    ChangeEvent.objects.create(
        kind=ChangeEvent.Kind.METADATA,
        imprint=imprint_a,
        work=work,
        field="title",
        old_value="Untitled",
        new_value=f"{SECRET} Memoir",
    )
    # Imprint B has its own title, so the outsider's screens have something to show.
    WorkFactory.create(imprint=imprint_b, title="Northern Lights Almanac")
    return World(
        imprint_a=imprint_a,
        imprint_b=imprint_b,
        message_key=str(message.key),
        ids={
            "work": work.pk,
            "product": product.pk,
            "contract": contract.pk,
            "communication": communication.pk,
            "message": message.pk,
            "communication_type": communication.communication_type_id,
            "template": template.pk,
            "exstream_communication": template.exstream_communication_id,
            "mapping": mapping.pk,
            "audience": audience.pk,
            "rule": rule.pk,
            "trigger": trigger.pk,
            "statement_rule": statement_rule.pk,
            "payee_profile": payee_profile.pk,
            "action": action.pk,
            "outbox": outbox.pk,
            "royalty_import": royalty_import.pk,
            "onix_run": onix_run.pk,
            "preview_output": preview.pk,
            "job": job.pk,
            "writeback": writeback.pk,
            "outcome": outcome.pk,
        },
    )


def _content(text: str) -> Any:
    from django.core.files.base import ContentFile

    return ContentFile(text.encode())


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def hostile_body(world: World) -> dict[str, Any]:
    """What the outsider POSTs everywhere: imprint A and A's objects in every usual field, so
    endpoints that take ids in the body (not the path) are tried too."""
    ids = world.ids
    return {
        "imprint": world.imprint_a.pk,
        "work": ids["work"],
        "contract": ids["contract"],
        "communication": ids["communication"],
        "template": ids["template"],
        "audience": ids["audience"],
        "message_key": world.message_key,
        "status": "responded",
        "date": "2026-11-01",
        "responded_on": "2026-11-01",
        "name": "Outsider's copy",
        "kind": "contributors",
        "communication_type": "proof-approval",
        "driver_field": "workTitle",
        "context_field": "work.title",
        "auto_approvable": "true",
        "event_kind": "response_recorded",
        "mutation": "none",
        "enabled": "on",
    }


def _send(client: Client, method: str, url: str, *, accept: str, body: dict[str, Any]) -> Any:
    send = getattr(client, method.lower())
    if method in ("GET", "DELETE"):
        return send(url, HTTP_ACCEPT=accept)
    if method == "POST":
        return send(url, data=body, HTTP_ACCEPT=accept)
    return send(url, data=body, content_type="application/json", HTTP_ACCEPT=accept)


def uncovered() -> tuple[list[str], list[str], list[str]]:
    """(unnamed routes, names neither swept nor allow-listed, stale names)."""
    routes = swept_routes()
    unnamed = [r.route for r in routes.values() if not r.name]
    missing = sorted(set(routes) - KWARGS.keys() - ALLOW_LIST.keys())
    stale = sorted((KWARGS.keys() | ALLOW_LIST.keys()) - set(routes))
    return unnamed, missing, stale


def test_every_url_is_covered() -> None:
    """A new URL must be added to KWARGS (swept) or ALLOW_LIST (with a reason)."""
    unnamed, missing, stale = uncovered()
    assert not unnamed, f"Unnamed URL patterns cannot be swept: {unnamed}"
    assert not missing, (
        "URLs not covered by the policy sweep; add them to KWARGS in tests/test_policy_sweep.py "
        f"(or to ALLOW_LIST with a reason): {missing}"
    )
    assert not stale, f"KWARGS / ALLOW_LIST name URLs that no longer exist: {stale}"


def test_a_new_url_without_a_sweep_entry_is_reported(settings) -> None:
    settings.ROOT_URLCONF = "tests.sweep_urlconf"
    _, missing, _ = uncovered()
    assert missing == ["royalty_statement"]


def test_outsider_never_reaches_imprint_a(world: World, outsider: User, login) -> None:
    """The imprint admin of B asks for every URL with A's ids: 403/404, never A's data."""
    before = setup_object_snapshot(world)
    hostile = hostile_body(world)
    client = login(outsider)
    # The outsider also tries to pick imprint A in the switcher (a forged session value) and
    # names A's objects in the filters of every list: neither may widen what they see.
    session = client.session
    session["current_imprint_id"] = world.imprint_a.pk
    session.save()
    filters = (
        f"?imprint={world.imprint_a.pk}&work={world.ids['work']}"
        f"&template={world.ids['template']}&communication={world.ids['communication']}"
        f"&audience={world.ids['audience']}"
    )
    failures: list[str] = []
    for name, route in sorted(swept_routes().items()):
        if name in ALLOW_LIST:
            continue
        is_api = route.route.startswith("api/")
        for build in KWARGS[name]:
            url = reverse(name, kwargs=build(world) or None)
            if not route.has_kwargs:
                url += filters
            statuses: dict[str, int] = {}
            for method in _methods(route):
                for accept in ("application/json", "text/html") if is_api else ("text/html",):
                    response = _send(client, method, url, accept=accept, body=hostile)
                    statuses[method] = response.status_code
                    body = _body(response)
                    where = f"{method} {url} ({name}, {accept}) -> {response.status_code}"
                    if response.status_code >= 500:
                        failures.append(f"{where}: server error")
                    if SECRET.lower() in body.lower():
                        failures.append(f"{where}: shows imprint A's data")
            if route.has_kwargs and name not in SHARED_OBJECTS:
                # Object routes: refused (405 only for a method the view does not take).
                refused = {m: s for m, s in statuses.items() if s not in (403, 404, 405)}
                if refused or not any(s in (403, 404) for s in statuses.values()):
                    failures.append(f"{url} ({name}): expected 403/404, got {statuses}")
    assert not failures, "\n".join(failures)
    assert setup_object_snapshot(world) == before, (
        "the outsider's requests changed imprint A's objects"
    )


def setup_object_snapshot(world: World) -> dict[str, Any]:
    """What the outsider's requests must not change: imprint A's objects and their counts."""
    a = world.imprint_a
    comm = Communication.objects.get(pk=world.ids["communication"])
    return {
        "communication": (comm.status, comm.approved_by_id),
        "message": Message.objects.values_list("status", flat=True).get(pk=world.ids["message"]),
        "action": ContributorAction.objects.values_list("state", "owner_id", "reminder_count").get(
            pk=world.ids["action"]
        ),
        "outbox": OutboxItem.objects.values_list("status", "attempts").get(pk=world.ids["outbox"]),
        "job": ExstreamJob.objects.values_list("status", "last_polled_at").get(pk=world.ids["job"]),
        "audience": Audience.objects.values_list("name", "list_filename").get(
            pk=world.ids["audience"]
        ),
        "counts": [
            model.objects.filter(**{field: a}).count()
            for model, field in (
                (Communication, "imprint"),
                (CommunicationTemplate, "imprint"),
                (FieldMapping, "template__imprint"),
                (Audience, "imprint"),
                (AudienceMember, "audience__imprint"),
                (ComplianceRule, "imprint"),
                (TriggerRule, "imprint"),
                (StatementRule, "imprint"),
                (PayeeProfile, "imprint"),
                (RoyaltyStatement, "imprint"),
                (ImprintTypeSetting, "imprint"),
                (WritebackRule, "imprint"),
                (CustomerServiceOutcome, "imprint"),
                (MessageEvent, "message__communication__imprint"),
            )
        ],
    }


def test_anonymous_is_sent_to_login_or_refused(world: World) -> None:
    """Screens redirect anonymous users to the login page; the API answers 401/403."""
    client = Client()
    failures: list[str] = []
    for name, route in sorted(swept_routes().items()):
        if name in ALLOW_LIST:
            continue
        is_api = route.route.startswith("api/")
        for build in KWARGS[name][:1]:
            url = reverse(name, kwargs=build(world) or None)
            for method in _methods(route):
                response = _send(
                    client, method, url, accept="application/json", body=hostile_body(world)
                )
                where = f"{method} {url} ({name}) -> {response.status_code}"
                if SECRET.lower() in _body(response).lower():
                    failures.append(f"{where}: shows imprint A's data")
                if name in ("api-schema", "api-docs", "api-redoc"):
                    continue  # the schema describes the API, not its data (checked above)
                if is_api:
                    if response.status_code not in (401, 403, 405):
                        failures.append(f"{where}: expected 401/403")
                elif response.status_code == 405:
                    continue
                elif response.status_code != 302 or "/accounts/login/" not in response["Location"]:
                    failures.append(f"{where}: expected a redirect to the login page")
    assert not failures, "\n".join(failures)


def test_the_sweep_sees_a_leak(world: World, admin_a: User, login) -> None:
    """The sweep's own check can fail: imprint A's admin does see the marker on A's title."""
    client = login(admin_a)
    body = _body(client.get(reverse("titles:detail", kwargs={"pk": world.ids["work"]})))
    assert SECRET.lower() in body.lower()
