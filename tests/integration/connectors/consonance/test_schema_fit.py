"""Fitting the shipped query documents to the schema a server really has (no database)."""

from __future__ import annotations

import re

import pytest
from graphql import build_schema, parse, validate

from integration.connectors.consonance.client import load_query
from integration.connectors.consonance.schema import fit_document
from tests.integration.connectors.consonance.test_contract import _read


@pytest.fixture(scope="module")
def sdl() -> str:
    return _read("consonance-schema.graphql")


def without(sdl: str, *patterns: str) -> str:
    """The SDL with every line matching one of ``patterns`` (regex, whole line) removed."""
    out = sdl
    for pattern in patterns:
        out, count = re.subn(rf"(?m)^{pattern}\n", "", out)
        assert count, f"{pattern!r} matched nothing: the test would prove nothing"
    return out


def fitted(operation: str, sdl: str):  # type: ignore[no-untyped-def]
    schema = build_schema(sdl)
    result = fit_document(operation, load_query(operation), schema)
    errors = validate(schema, parse(result.source))
    assert not errors, [e.message for e in errors]
    return result


def test_against_the_documented_schema_nothing_changes(sdl):
    for operation in ("WorksPage", "ContractsPage"):
        result = fitted(operation, sdl)
        assert result.dropped == [] and result.missing == [] and result.added == []


def test_optional_fields_the_server_lacks_are_dropped_and_named(sdl):
    reduced = without(sdl, r"  season: String", r"  territory: String", r"  isni: String")
    works = fitted("WorksPage", reduced)
    assert set(works.dropped) == {"Work.season", "Contact.isni"}
    assert works.missing == []
    assert "season" not in works.source
    contracts = fitted("ContractsPage", reduced)
    assert contracts.dropped == ["LicensedRight.territory"] and contracts.usable


def test_a_missing_changed_since_drops_the_filter_and_its_variable(sdl):
    reduced = re.sub(
        r"(input WorkSearchAttributes \{[^}]*?)  changedSince: ISO8601Date\n", r"\1", sdl
    )
    assert reduced != sdl
    works = fitted("WorksPage", reduced)
    assert works.dropped == ["WorkSearchAttributes.changedSince"]
    assert "$since" not in works.source and works.variables == {"after"}


def test_a_missing_contracts_root_or_after_makes_contracts_unusable(sdl):
    no_root = without(sdl, r"  contracts\(contractSearch: ContractSearchAttributes\): .*")
    result = fit_document("ContractsPage", load_query("ContractsPage"), build_schema(no_root))
    assert result.missing == ["Query.contracts"] and not result.usable
    no_after = re.sub(r"(input ContractSearchAttributes \{\n)  after: Int\n", r"\1", sdl)
    assert no_after != sdl
    result = fit_document("ContractsPage", load_query("ContractsPage"), build_schema(no_after))
    assert result.missing == ["ContractSearchAttributes.after"]


def test_a_work_without_title_is_a_required_part_missing(sdl):
    reduced = re.sub(r"(type Work \{\n  id: Int!\n)  title: String\n", r"\1", sdl)
    assert reduced != sdl
    result = fit_document("WorksPage", load_query("WorksPage"), build_schema(reduced))
    assert result.missing == ["Work.title"]


@pytest.mark.parametrize(
    ("declaration", "selected"),
    [
        ("enum ONIXProductAvailabilityCode { _10 _21 }", "availability: productAvailability\n"),
        (
            "type ONIXProductAvailabilityCode { code: String! description: String }",
            "availability: productAvailability {",
        ),
    ],
)
def test_availability_is_selected_only_through_the_documented_type(sdl, declaration, selected):
    """The reference names a type ONIXProductAvailabilityCode but no field: a server whose
    Product has a field of that type gets it asked for, under the alias ``availability``."""
    offered = re.sub(
        r"(  onixPublishingStatus: ONIXCode\n)",
        r"\1  productAvailability: ONIXProductAvailabilityCode\n",
        sdl,
    )
    offered += "\n" + declaration + "\n"
    result = fitted("WorksPage", offered)
    assert result.added == [
        "Product.productAvailability (availability, type ONIXProductAvailabilityCode)"
    ]
    assert selected in result.source


@pytest.mark.parametrize("operation", ["UpdateContract", "UpdateDeliveryDate", "UpdateGratisCopy"])
def test_write_back_mutations_fit_the_documented_error_type(sdl, operation):
    """The fitted mutation asks for every error field the documented Error type has (field,
    message, messages) and for nothing it lacks; ``fitted`` validates it against the SDL."""
    result = fitted(operation, sdl)
    assert result.missing == [] and result.dropped == ["Error.attribute"]
    assert re.search(r"errors \{\s*field\s+message\s+messages\s*\}", result.source)
    no_mutation = without(sdl, rf"  {operation[0].lower() + operation[1:]}\(input: .*")
    gone = fit_document(operation, load_query(operation), build_schema(no_mutation))
    assert gone.missing == [f"Mutation.{operation[0].lower() + operation[1:]}"]
