"""The Consonance contract is the truth: every GraphQL document Colophon can send validates against
the documented SDL, and the sandbox serves nothing the reference does not describe.

The reference lives beside the repository: ``<repo>/../shared/reference`` (in CI the repo is cloned
to another folder with ``shared/`` next to it). COLOPHON_REFERENCE_DIR overrides the location.
A missing reference fails the suite: a contract test that silently skips protects nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.test import Client
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    is_list_type,
    is_non_null_type,
    parse,
    validate,
)

from integration.connectors.consonance import schema as server_schema
from integration.connectors.consonance.client import QUERIES
from sandbox.consonance import api as sandbox_api
from sandbox.consonance import store
from sandbox.models import SandboxContract

REPO = Path(__file__).resolve().parents[4]
REFERENCE = Path(os.environ.get("COLOPHON_REFERENCE_DIR") or REPO / ".." / "shared" / "reference")
DOCS = REPO / "docs" / "consonance.md"


def _read(name: str) -> str:
    path = REFERENCE / name
    if not path.is_file():
        pytest.fail(
            f"The vendor reference {path} is missing; check out shared/ beside the repository "
            "or set COLOPHON_REFERENCE_DIR."
        )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reference() -> GraphQLSchema:
    return build_schema(_read("consonance-schema.graphql"))


def shipped_documents() -> list[tuple[str, str]]:
    docs = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(QUERIES.glob("*.graphql"))]
    docs.append(("schema introspection", server_schema.INTROSPECTION))
    return docs


@pytest.mark.parametrize(("name", "source"), shipped_documents(), ids=lambda v: str(v)[:40])
def test_every_shipped_document_is_valid_against_the_documented_schema(reference, name, source):
    errors = validate(reference, parse(source))
    assert not errors, f"{name}: " + "; ".join(e.message for e in errors)


def test_the_old_guesses_would_have_failed(reference):
    """Defects 1 and 2 of issue 11, as the contract test sees them."""
    works = "{ works { products { id onixProductAvailabilityCode } } }"
    texts = "{ works { marketingTexts { languageCode onixTextTypeCode } } }"
    contracts = "query($s: ISO8601Date) { contracts(contractSearch: {changedSince: $s}) { id } }"
    for bad in (works, texts, contracts):
        assert validate(reference, parse(bad)), bad


# --- the sandbox serves only the documented contract ---------------------------------------------


def sandbox_extensions() -> set[str]:
    """``Type`` or ``Type.field`` names listed under "Sandbox-only extensions" in
    docs/consonance.md (each with why)."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"## Sandbox-only extensions\n(.*?)(\n## |\Z)", text, re.S)
    assert match, "docs/consonance.md has no 'Sandbox-only extensions' section"
    return set(re.findall(r"^- `([A-Za-z_][\w.]*)`", match.group(1), re.M))


def _compatible(served, documented) -> bool:  # type: ignore[no-untyped-def]
    """The sandbox may be stricter (non-null) than the reference, never looser or different."""
    if is_non_null_type(served):
        served = served.of_type
        if is_non_null_type(documented):
            documented = documented.of_type
    elif is_non_null_type(documented):
        return False
    if is_list_type(served) or is_list_type(documented):
        return (
            is_list_type(served)
            and is_list_type(documented)
            and _compatible(served.of_type, documented.of_type)
        )
    return bool(served.name == documented.name)


def schema_drift(served: GraphQLSchema, documented: GraphQLSchema, allowed: set[str]) -> list[str]:
    problems = []
    for name, kind in served.type_map.items():
        if name.startswith("__") or name in allowed:
            continue
        ref = documented.type_map.get(name)
        if ref is None:
            problems.append(f"type {name} is not in the reference")
            continue
        if type(ref) is not type(kind):
            problems.append(f"type {name} is a {type(kind).__name__}, not {type(ref).__name__}")
            continue
        if isinstance(kind, GraphQLEnumType):
            assert isinstance(ref, GraphQLEnumType)
            extra = set(kind.values) - set(ref.values)
            problems += [f"enum value {name}.{v} is not in the reference" for v in sorted(extra)]
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            ref_fields = getattr(ref, "fields", {})
            for field_name, field in kind.fields.items():
                qualified = f"{name}.{field_name}"
                if qualified in allowed:
                    continue
                ref_field = ref_fields.get(field_name)
                if ref_field is None:
                    problems.append(f"{qualified} is not in the reference")
                    continue
                if isinstance(kind, GraphQLInputObjectType):
                    if str(field.type) != str(ref_field.type):
                        problems.append(f"{qualified} is {field.type}, documented {ref_field.type}")
                    continue
                if not _compatible(field.type, ref_field.type):
                    problems.append(f"{qualified} is {field.type}, documented {ref_field.type}")
                for arg_name, arg in field.args.items():
                    ref_arg = ref_field.args.get(arg_name)
                    if ref_arg is None or str(ref_arg.type) != str(arg.type):
                        problems.append(f"{qualified}({arg_name}: {arg.type}) is not documented")
    return problems


def test_the_sandbox_schema_is_the_documented_one(reference):
    problems = schema_drift(sandbox_api.schema(), reference, sandbox_extensions())
    assert not problems, "\n".join(problems)


def test_schema_drift_is_caught(reference):
    """The check above can fail: a sandbox that invents a field or changes a type is named."""
    invented = sandbox_api.SCHEMA_PATH.read_text(encoding="utf-8").replace(
        "  inHouseWorkReference: String\n",
        "  inHouseWorkReference: String\n  onixProductAvailabilityCode: String\n",
    )
    invented = invented.replace("type Price {\n  id: Int\n", "type Price {\n  id: String!\n")
    problems = schema_drift(build_schema(invented), reference, set())
    assert "Work.onixProductAvailabilityCode is not in the reference" in problems
    assert "Price.id is String!, documented Int" in problems


def test_the_extension_list_is_short_and_explained():
    extensions = sandbox_extensions()
    assert len(extensions) <= 5
    text = DOCS.read_text(encoding="utf-8")
    for name in extensions:
        line = next(li for li in text.splitlines() if li.startswith(f"- `{name}`"))
        assert len(line) > len(name) + 20, f"{name}: say why it is needed"


# --- REST v4 --------------------------------------------------------------------------------------


def documented_rest_keys() -> tuple[set[str], set[str]]:
    """(envelope keys, every key name the REST v4 product object section mentions)."""
    text = _read("consonance-api.md")
    envelope_line = next(li for li in text.splitlines() if "envelope `{" in li)
    envelope = set(re.findall(r'"(\w+)"', envelope_line.split("envelope", 1)[1].split("`", 2)[1]))
    section = text.split("**REST v4 product object**", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for chunk in re.findall(r"`([^`]+)`", section):
        names |= set(re.findall(r"[a-z][a-z0-9_]*", chunk))
    return envelope, names


def _keys(value, out: set[str]) -> set[str]:  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        for key, inner in value.items():
            out.add(key)
            _keys(inner, out)
    elif isinstance(value, list):
        for inner in value:
            _keys(inner, out)
    return out


@pytest.mark.django_db
def test_the_sandbox_rest_products_carry_only_documented_keys(settings):
    settings.CONSONANCE_API_KEY = ""
    store.seed(works=6, reset=True)
    response = Client().get(
        "/sandbox/consonance/api/v4/products.json",
        HTTP_AUTHORIZATION=f"Token token={sandbox_api.sandbox_api_key()}",
    )
    assert response.status_code == 200
    body = response.json()
    envelope, product_keys = documented_rest_keys()
    assert set(body) <= envelope, set(body) - envelope
    served = _keys(body["products"], set())
    assert served <= product_keys, f"undocumented REST keys: {sorted(served - product_keys)}"
    assert {"id", "work_id", "isbn", "prices"} <= served


@pytest.mark.django_db
def test_sandbox_data_seeded_before_the_documented_schema_is_reseeded():
    store.seed(works=6, reset=True)
    contract = SandboxContract.objects.order_by("id").first()
    assert contract is not None
    contract.data["client"] = {"__typename": "Person", "id": 1000, "name": "Ada"}
    contract.save()
    assert store.seed(works=6)["created"] == 1
    contract.refresh_from_db()
    assert contract.data["client"] == {"id": 1, "name": "Lighthouse Publishing Group Ltd"}
    assert store.seed(works=6)["created"] == 0
