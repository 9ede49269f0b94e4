"""Property-based fuzz of the whole REST API from its own OpenAPI schema (schemathesis).

Every operation of ``/api/schema/`` is called with generated data (path ids, filters, bodies;
positive and negative modes) as a non-admin persona (an imprint's marketing colleague) and as
an imprint admin, over WSGI, within a fixed budget of examples. Each response must not be a
server error, and a documented response must match the schema (body and content type).
Findings are fixed in the API, never excluded here.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.factories import (
    AudienceFactory,
    CommunicationFactory,
    CommunicationTemplateFactory,
    ComplianceRuleFactory,
    ContributorActionFactory,
    CustomerServiceOutcomeFactory,
    FieldMappingFactory,
    MessageFactory,
    ProductFactory,
    SyncRunFactory,
    TriggerRuleFactory,
    WorkFactory,
)

EXAMPLES = 2  # per operation and mode (3 against a real id): ~400 requests per persona
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@contextlib.contextmanager
def _connections_kept_open() -> Any:
    """The raw WSGI app closes the database connection at each request's start and end, as a
    server does. Inside a test's transaction that would end the test's own connection (SQLite
    in memory ignores it, PostgreSQL does not), so, like Django's test client, keep it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _schema() -> Any:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    schema.app = get_wsgi_application()
    return schema


@pytest.fixture
def world(imprint_a, imprint_b, admin_a) -> dict[str, int]:
    """A few objects in both imprints; returns, per collection, the id of imprint A's object so
    that ``{id}`` operations are also fuzzed against a real row the persona may see."""
    ids: dict[str, int] = {}
    for imprint in (imprint_b, imprint_a):  # imprint A's last: its ids are kept
        work = WorkFactory.create(imprint=imprint)
        ProductFactory.create(work=work)
        template = CommunicationTemplateFactory.create(imprint=imprint)
        mapping = FieldMappingFactory.create(template=template)
        audience = AudienceFactory.create(imprint=imprint)
        trigger = TriggerRuleFactory.create(imprint=imprint)
        rule = ComplianceRuleFactory.create(imprint=imprint)
        communication = CommunicationFactory.create(work=work)
        message = MessageFactory.create(communication=communication)
        action = ContributorActionFactory.create(message=message)
        outcome = CustomerServiceOutcomeFactory.create(imprint=imprint, work=work)
        run = SyncRunFactory.create(imprint=imprint)
        ids = {
            "titles": work.pk,
            "templates": template.pk,
            "mappings": mapping.pk,
            "audiences": audience.pk,
            "triggers": trigger.pk,
            "compliance-rules": rule.pk,
            "communications": communication.pk,
            "contributor-actions": action.pk,
            "customer-service-outcomes": outcome.pk,
            "sync-runs": run.pk,
            "setup-transfer": imprint.pk,
            "communication-types": communication.communication_type_id,
        }
    return ids


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(user: Any, world: dict[str, int]) -> list[str]:
    token = Token.objects.create(user=user).key
    headers = {"Authorization": f"Token {token}"}
    failures: list[str] = []

    def check(label: str, strategy: Any, examples: int) -> None:
        @given(case=strategy)
        @_settings(examples)
        def run(case: Any) -> None:
            try:
                case.call_and_validate(headers=headers, checks=CHECKS)
            except (AssertionError, BaseExceptionGroup) as exc:
                failures.append(f"{label}: {str(exc)[:1500]}")

        with contextlib.suppress(Unsatisfiable):
            run()

    with _connections_kept_open():
        for result in _schema().get_all_operations():
            _fuzz_operation(result.ok(), check, world)
    return failures


def _fuzz_operation(operation: Any, check: Any, world: dict[str, int]) -> None:
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode)
        check(f"{operation.label} [{mode.value}]", strategy, EXAMPLES)
    collection = operation.path.split("/")[3]
    if "{id}" in operation.path and collection in world:
        strategy = operation.as_strategy(path_parameters={"id": world[collection]})
        check(f"{operation.label} [id={world[collection]}]", strategy, EXAMPLES + 1)


@pytest.mark.django_db
def test_fuzz_api_as_a_non_admin(world, marketing):
    failures = _fuzz(marketing, world)
    assert not failures, "\n\n".join(failures)


@pytest.mark.django_db
def test_fuzz_api_as_an_imprint_admin(world, admin_a):
    failures = _fuzz(admin_a, world)
    assert not failures, "\n\n".join(failures)
