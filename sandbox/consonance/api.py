"""The sandbox Consonance API: GraphQL (graphql-core against a real SDL schema, so unknown fields
are GraphQL errors) and REST v4 products, with API-key checks and fault switches."""

from __future__ import annotations

import datetime
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    graphql_sync,
)

from sandbox.consonance import store
from sandbox.models import (
    SandboxContact,
    SandboxContract,
    SandboxProduct,
    SandboxState,
    SandboxWork,
)

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
DEFAULT_SANDBOX_KEY = "sandbox-key"


def sandbox_api_key() -> str:
    """The key the sandbox accepts: always its own ``sandbox-key``, never the product's
    CONSONANCE_API_KEY (so the sandbox cannot be used to test guesses of the real key)."""
    return DEFAULT_SANDBOX_KEY


# --- faults and auth -----------------------------------------------------------------------------


def _take_fault(*, graphql: bool = False) -> tuple[str, int] | None:
    """Consume one pending fault. The 'GraphQL gone' fault only hits the GraphQL endpoint."""
    state = SandboxState.current()
    if not state.fault or state.fault_remaining <= 0:
        return None
    if state.fault == SandboxState.Fault.GRAPHQL_GONE and not graphql:
        return None
    updated = SandboxState.objects.filter(pk=state.pk, fault_remaining__gt=0).update(
        fault_remaining=F("fault_remaining") - 1
    )
    return (state.fault, state.retry_after) if updated else None


def _gate(request: HttpRequest, scheme: str) -> HttpResponse | None:
    fault = _take_fault(graphql=scheme == "bearer")
    if fault is not None:
        kind, retry_after = fault
        if kind == SandboxState.Fault.GRAPHQL_GONE:
            return JsonResponse({"error": "Not Found"}, status=404)
        if kind == SandboxState.Fault.ERROR_500:
            return JsonResponse({"error": "Internal Server Error"}, status=500)
        if kind == SandboxState.Fault.RATE_LIMIT:
            response = JsonResponse({"error": "Too Many Requests"}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if kind == SandboxState.Fault.UNAUTHORISED:
            return JsonResponse({"error": "Unauthorised"}, status=401)
        if kind == SandboxState.Fault.MALFORMED:
            return HttpResponse("<html>Bad gateway page, not JSON", content_type="text/html")
    header = request.headers.get("Authorization", "")
    key = sandbox_api_key()
    expected = f"Bearer {key}" if scheme == "bearer" else f"Token token={key}"
    if header != expected:
        return JsonResponse({"error": "Unauthorised: missing or wrong API key"}, status=401)
    return None


# --- GraphQL -------------------------------------------------------------------------------------


def _page_size() -> int:
    return max(1, SandboxState.current().page_size)


def _since(search: dict[str, Any]) -> datetime.date | None:
    value = search.get("changedSince")
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as exc:
        raise GraphQLError(f"changedSince {value!r} is not an ISO 8601 date.") from exc


def _products_for(work_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {wid: [] for wid in work_ids}
    for wid, data in (
        SandboxProduct.objects.filter(work_id__in=work_ids)
        .order_by("id")
        .values_list("work_id", "data")
    ):
        out[wid].append(data)
    return out


def _contacts(ids: set[int]) -> dict[int, dict[str, Any]]:
    return dict(SandboxContact.objects.filter(id__in=ids).values_list("id", "data"))


def _works_qs(search: dict[str, Any]) -> QuerySet[SandboxWork]:
    qs = SandboxWork.objects.order_by("id")
    if search.get("after") is not None:
        qs = qs.filter(id__gt=search["after"])
    if search.get("idEq") is not None:
        qs = qs.filter(id=search["idEq"])
    if search.get("titleEq"):
        qs = qs.filter(data__title=search["titleEq"])
    if search.get("imprintIdIn"):
        qs = qs.filter(imprint_id__in=search["imprintIdIn"])
    if search.get("contractIdEq") is not None:
        qs = qs.filter(contracts__id=search["contractIdEq"])
    since = _since(search)
    if since:
        qs = qs.filter(changed_on__gte=since)
    return qs


def _expand_works(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    products = _products_for([w["id"] for w in rows])
    contact_ids = {c["contributor"]["id"] for w in rows for c in w["contributions"]}
    contacts = _contacts(contact_ids)
    out = []
    for w in rows:
        work = dict(w)
        work["products"] = products.get(w["id"], [])
        work["contributions"] = [
            {**c, "contributor": contacts.get(c["contributor"]["id"], c["contributor"])}
            for c in w["contributions"]
        ]
        out.append(work)
    return out


def resolve_works(_root: Any, _info: Any, workSearch: Any = None, productSearch: Any = None):
    search = workSearch or {}
    qs = _works_qs(search)
    if productSearch and productSearch.get("isbn13Eq"):
        qs = qs.filter(products__data__isbn__isbn13=productSearch["isbn13Eq"])
    rows = list(qs.values_list("data", flat=True)[: _page_size()])
    return _expand_works(rows)


def resolve_work(_root: Any, _info: Any, workSearch: Any = None):
    rows = list(_works_qs(workSearch or {}).values_list("data", flat=True)[:1])
    return _expand_works(rows)[0] if rows else None


def _products_qs(search: dict[str, Any]) -> QuerySet[SandboxProduct]:
    qs = SandboxProduct.objects.order_by("id")
    if search.get("after") is not None:
        qs = qs.filter(id__gt=search["after"])
    if search.get("idEq") is not None:
        qs = qs.filter(id=search["idEq"])
    if search.get("isbn13Eq"):
        qs = qs.filter(data__isbn__isbn13=search["isbn13Eq"])
    since = _since(search)
    if since:
        qs = qs.filter(changed_on__gte=since)
    return qs


def _with_work(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{**p, "work": {**w, "products": []}} for p, w in rows]


def resolve_products(_root: Any, _info: Any, productSearch: Any = None, workSearch: Any = None):
    qs = _products_qs(productSearch or {})
    if workSearch and workSearch.get("idEq") is not None:
        qs = qs.filter(work_id=workSearch["idEq"])
    return _with_work(list(qs.values_list("data", "work__data")[: _page_size()]))


def resolve_product(_root: Any, _info: Any, productSearch: Any = None):
    rows = _with_work(list(_products_qs(productSearch or {}).values_list("data", "work__data")[:1]))
    return rows[0] if rows else None


def resolve_contacts(_root: Any, _info: Any, contactSearch: Any = None):
    search = contactSearch or {}
    qs = SandboxContact.objects.order_by("id")
    if search.get("after") is not None:
        qs = qs.filter(id__gt=search["after"])
    if search.get("idEq") is not None:
        qs = qs.filter(id=search["idEq"])
    if search.get("personNameCont"):
        qs = qs.filter(data__name__icontains=search["personNameCont"])
    since = _since(search)
    if since:
        qs = qs.filter(changed_on__gte=since)
    return list(qs.values_list("data", flat=True)[: _page_size()])


def _contracts_qs(search: dict[str, Any]) -> QuerySet[SandboxContract]:
    qs = SandboxContract.objects.order_by("id")
    if search.get("after") is not None:
        qs = qs.filter(id__gt=search["after"])
    if search.get("idEq") is not None:
        qs = qs.filter(id=search["idEq"])
    if search.get("workIdEq") is not None:
        qs = qs.filter(work_id=search["workIdEq"])
    since = _since(search)
    if since:
        qs = qs.filter(changed_on__gte=since)
    return qs


def _expand_contracts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # ``client`` is the publisher's own client record (type Client {id name}), stored as is.
    return rows


def resolve_contracts(_root: Any, _info: Any, contractSearch: Any = None):
    rows = list(_contracts_qs(contractSearch or {}).values_list("data", flat=True)[: _page_size()])
    return _expand_contracts(rows)


def resolve_contract(_root: Any, _info: Any, contractSearch: Any = None):
    rows = list(_contracts_qs(contractSearch or {}).values_list("data", flat=True)[:1])
    return _expand_contracts(rows)[0] if rows else None


# --- mutations -----------------------------------------------------------------------------------

_FIELD_ERRORS = "errors"


def _payload(input_: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {"clientMutationId": input_.get("clientMutationId"), _FIELD_ERRORS: [], **values}


def _not_found(input_: dict[str, Any], what: str, key: str = "id") -> dict[str, Any]:
    message = f"{what} {input_.get(key)} not found"
    return {
        "clientMutationId": input_.get("clientMutationId"),
        _FIELD_ERRORS: [{"field": key, "message": message, "messages": [message]}],
    }


def resolve_update_product(_root: Any, _info: Any, input: dict[str, Any]):
    product = SandboxProduct.objects.filter(pk=input["id"]).first()
    if product is None:
        return _not_found(input, "Product")
    mapping = {
        "title": "fullTitle",
        "subtitle": "subtitle",
        "publicationDate": "publicationDate",
        "plannedPublicationDate": "plannedPublicationDate",
        "onixPublishingStatusCode": "onixPublishingStatusCode",
    }
    for key, target in mapping.items():
        if key in input:
            product.data[target] = input[key]
    store.save_product(product)
    return _payload(input, product=product.data)


def resolve_update_work(_root: Any, _info: Any, input: dict[str, Any]):
    work = SandboxWork.objects.filter(pk=input["id"]).first()
    if work is None:
        return _not_found(input, "Work")
    for key in ("title", "subtitle"):
        if key in input:
            work.data[key] = input[key]
    work.changed_on = datetime.date.today()
    work.save()
    return _payload(input, work=_expand_works([work.data])[0])


def resolve_update_contract(_root: Any, _info: Any, input: dict[str, Any]):
    contract = SandboxContract.objects.filter(pk=input["id"]).first()
    if contract is None:
        return _not_found(input, "Contract")
    for key in (
        "contractName",
        "signedDate",
        "description",
        "freeCopies",
        "freeCopiesUsed",
        "authorDiscount",
        "remainderRate",
        "remainderRateOverCost",
        "guaranteedRoyaltyValue",
        "flatFeeValue",
        "terminatedDate",
        "terminationReason",
    ):
        if key in input:
            contract.data[key] = input[key]
    store.save_contract(contract)
    return _payload(input, contract=_expand_contracts([contract.data])[0])


def _find_child(key: str, child_id: int) -> tuple[SandboxContract, dict[str, Any]] | None:
    # Seeded child ids are contract id * 10 + n; created ones may not be: fall back to a scan.
    first = SandboxContract.objects.filter(id=child_id // 10).first()
    candidates = [first] if first else []
    for contract in [*candidates, *SandboxContract.objects.iterator()]:
        for item in contract.data.get(key, []):
            if item["id"] == child_id:
                return contract, item
    return None


def _next_child_id(contract: SandboxContract, key: str) -> int:
    ids = [i["id"] for i in contract.data.get(key, [])]
    return max([*ids, contract.pk * 10]) + 1


def _create_child(input: dict[str, Any], key: str, payload_key: str, defaults: dict[str, Any]):
    """Append a child record (gratis copy, delivery date …) to a contract, as Create* does."""
    contract = SandboxContract.objects.filter(pk=input["contractId"]).first()
    if contract is None:
        return _not_found(input, "Contract", "contractId")
    child = {"id": _next_child_id(contract, key), **defaults}
    child.update({k: v for k, v in input.items() if k not in ("clientMutationId", "contractId")})
    contract.data.setdefault(key, []).append(child)
    store.save_contract(contract)
    return _payload(input, **{payload_key: child})


def _update_child(input: dict[str, Any], key: str, payload_key: str, label: str):
    """Change the given fields of a contract's child record, as Update* does."""
    found = _find_child(key, input["id"])
    if found is None:
        return _not_found(input, label)
    contract, child = found
    child.update({k: v for k, v in input.items() if k not in ("clientMutationId", "id")})
    store.save_contract(contract)
    return _payload(input, **{payload_key: child})


def resolve_create_gratis_copy(_root: Any, _info: Any, input: dict[str, Any]):
    return _create_child(
        input, "gratisCopies", "gratisCopy", {"sendOn": None, "sentOn": None, "note": None}
    )


def resolve_update_gratis_copy(_root: Any, _info: Any, input: dict[str, Any]):
    return _update_child(input, "gratisCopies", "gratisCopy", "Gratis copy")


def resolve_create_delivery_date(_root: Any, _info: Any, input: dict[str, Any]):
    defaults = {"percentageOfTotal": None, "slippedDate": None, "deliveryRequirement": None}
    return _create_child(input, "deliveryDates", "deliveryDate", defaults)


def resolve_update_delivery_date(_root: Any, _info: Any, input: dict[str, Any]):
    return _update_child(input, "deliveryDates", "deliveryDate", "Delivery date")


def build(sdl: str) -> GraphQLSchema:
    """An executable schema from SDL: the sandbox's resolvers on every root field the SDL has
    (tests build reduced schemas to play a Consonance that lacks optional parts)."""
    built = build_schema(sdl)
    query = built.query_type
    mutation = built.mutation_type
    assert query is not None
    resolvers = {
        "works": resolve_works,
        "work": resolve_work,
        "products": resolve_products,
        "product": resolve_product,
        "contacts": resolve_contacts,
        "contracts": resolve_contracts,
        "contract": resolve_contract,
    }
    for name, func in resolvers.items():
        if name in query.fields:
            query.fields[name].resolve = func
    mutations = {
        "updateProduct": resolve_update_product,
        "updateWork": resolve_update_work,
        "updateContract": resolve_update_contract,
        "createGratisCopy": resolve_create_gratis_copy,
        "updateGratisCopy": resolve_update_gratis_copy,
        "createDeliveryDate": resolve_create_delivery_date,
        "updateDeliveryDate": resolve_update_delivery_date,
    }
    for name, func in mutations.items():
        if mutation is not None and name in mutation.fields:
            mutation.fields[name].resolve = func
    return built


@cache
def schema() -> GraphQLSchema:
    return build(SCHEMA_PATH.read_text(encoding="utf-8"))


@csrf_exempt
@require_POST
def graphql_view(request: HttpRequest) -> HttpResponse:
    refused = _gate(request, "bearer")
    if refused is not None:
        return refused
    SandboxState.objects.filter(pk=1).update(requests_served=F("requests_served") + 1)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"errors": [{"message": "The request body is not JSON."}]}, status=400)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return JsonResponse({"errors": [{"message": 'Send {"query": ...}.'}]}, status=400)
    result = graphql_sync(
        schema(),
        body["query"],
        variable_values=body.get("variables") or None,
        operation_name=body.get("operationName"),
    )
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    return JsonResponse(payload)


# --- REST v4 products ----------------------------------------------------------------------------


# REST v4 marketing text ``code``: the reference gives `01` main description and `08` review.
REST_TEXT_CODES = {"DESCRIPTION": "01", "REVIEW_QUOTE": "08"}


def _rest_product(product: dict[str, Any], work: dict[str, Any]) -> dict[str, Any]:
    isbn = (product.get("isbn") or {}).get("isbnWithDashes") or "No ISBN"
    return {
        "id": product["id"],
        "work_id": work["id"],
        "full_title": product.get("fullTitle"),
        "subtitle": product.get("subtitle"),
        "isbn": isbn,
        "pub_date": product.get("publicationDate"),
        "publishing_status": product.get("onixPublishingStatusCode"),
        "product_form": product.get("onix21ProductFormCode"),
        "imprint": (work.get("imprint") or {}).get("name"),
        "authorship": work.get("contributorPrettyList"),
        # Only the documented keys (consonance-api.md, REST v4 product object): a price has no
        # price type here, so a client must not rely on one.
        "prices": [
            {
                "currency_code": p["currencyCode"],
                "price_qualifier": p.get("onixPriceTypeQualifierCode"),
                "price_amount": p["amount"],
            }
            for p in product.get("prices", [])
        ],
        "marketingtexts": [
            {
                "code": REST_TEXT_CODES.get(t.get("variant") or "", "01"),
                "external_text": t.get("externalText"),
            }
            for t in work.get("marketingTexts", [])
        ],
        "supportingresources": [
            {"style_urls": [{"style": "original", "url": r.get("url")}]}
            for r in work.get("supportingResources", [])
        ],
        "rights_not_available_countries": product.get("notForSaleCountryCodes", []),
    }


@require_GET
def rest_products_view(request: HttpRequest) -> HttpResponse:
    refused = _gate(request, "token")
    if refused is not None:
        return refused
    per_page = _page_size()
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return JsonResponse({"error": "page must be a number"}, status=400)
    qs = SandboxProduct.objects.order_by("id")
    if request.GET.get("q[isbn_eq]"):
        qs = qs.filter(data__isbn__isbn13=request.GET["q[isbn_eq]"].replace("-", ""))
    if request.GET.get("q[id_eq]"):
        qs = qs.filter(Q(id=request.GET["q[id_eq]"]))
    total = qs.count()
    rows = qs.values_list("data", "work__data")[(page - 1) * per_page : page * per_page]
    return JsonResponse(
        {
            "current_page": page,
            "per_page": per_page,
            "total_pages": max(1, math.ceil(total / per_page)),
            "url": request.build_absolute_uri(request.path),
            "products": [_rest_product(p, w) for p, w in rows],
        }
    )


COVER_COLOURS = ["#1f5fbf", "#8a2f4e", "#2f6b3a", "#6b4f1f", "#3a3f8a", "#1f6b6b"]


def cover_svg(work_id: int) -> str | None:
    """A generated front cover for a sandbox work (SVG, deterministic, no external assets);
    None when there is no such work. The sandbox Exstream inlines it in e-mail previews."""
    work = SandboxWork.objects.filter(pk=work_id).first()
    if work is None:
        return None
    title = escape(str(work.data.get("title", "")))
    author = escape(str(work.data.get("contributorPrettyList", "")))
    colour = COVER_COLOURS[work_id % len(COVER_COLOURS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300" viewBox="0 0 200 300">'
        f'<rect width="200" height="300" fill="{colour}"/>'
        '<rect x="12" y="12" width="176" height="276" fill="none" stroke="#fff" stroke-width="2"/>'
        f'<text x="100" y="120" font-family="serif" font-size="18" fill="#fff" '
        f'text-anchor="middle">{title}</text>'
        f'<text x="100" y="250" font-family="sans-serif" font-size="11" fill="#fff" '
        f'text-anchor="middle">{author}</text></svg>'
    )


@require_GET
def cover_view(request: HttpRequest, work_id: int) -> HttpResponse:
    """A generated front cover for a sandbox work."""
    svg = cover_svg(work_id)
    if svg is None:
        return HttpResponse(status=404)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=3600"
    return response
