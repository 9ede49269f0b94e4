"""Field mappings: transforms (locale-aware dates and money, case, join, default, lookup),
validation that names every missing or unknown field, and ``build_driver_data``.

``build_driver_data`` is pure and cheap: the template's mappings are loaded once and cached on the
template object, so composing for 100k recipients runs no query per recipient.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from accounts.audit import log_action
from accounts.types import Actor
from integration.lib.money import minor_units, money_round
from integration.models import CommunicationTemplate, FieldMapping
from integration.setup.changes import setup_changed
from integration.setup.context import REGISTRY

LOCALES = ("en-GB", "en-US", "fr-FR", "de-DE")

_MONTHS = {
    "en": [
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ],
    "fr": [
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre",
    ],
    "de": [
        "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
        "September", "Oktober", "November", "Dezember",
    ],
}  # fmt: skip

NBSP = "\u00a0"
NNBSP = "\u202f"
# locale -> (group separator, decimal separator, symbol after the number?)
_NUMBER_FORMAT = {
    "en-GB": (",", ".", False),
    "en-US": (",", ".", False),
    "fr-FR": (NNBSP, ",", True),
    "de-DE": (".", ",", True),
}
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}
# Symbols that need disambiguating outside their home locale.
_LOCAL_SYMBOLS = {
    ("en-GB", "USD"): "US$",
    ("en-US", "CAD"): "CA$",
    ("en-GB", "CAD"): "CA$",
    ("en-US", "AUD"): "A$",
    ("en-GB", "AUD"): "A$",
    ("fr-FR", "USD"): "$US",
    ("fr-FR", "GBP"): "£GB",
}

# Driver fields Colophon fills itself at send time (never mapped): the message key. Kept for
# callers that still subtract it; the real customer-key field is the template's
# ``customer_key_path`` (the design's own field, e.g. ``customer.customerNumber``), which
# ``CommunicationTemplate.required_driver_fields`` already leaves out.
COLOPHON_SUPPLIED = frozenset({"customerKey"})

TRANSFORMS = ("date", "money", "upper", "lower", "title", "join", "default", "lookup")


class TransformError(ValueError):
    pass


def normalise_locale(locale: str | None) -> str:
    if not locale:
        return "en-GB"
    candidate = locale.replace("_", "-")
    for known in LOCALES:
        if known.lower() == candidate.lower():
            return known
    raise TransformError(f"Unknown locale {locale!r}; use one of {', '.join(LOCALES)}.")


def _as_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise TransformError(f"{value!r} is not a date (expected YYYY-MM-DD).") from exc
    raise TransformError(f"{value!r} is not a date.")


def format_date(value: Any, *, locale: str = "en-GB", style: str = "long") -> str:
    day = _as_date(value)
    locale = normalise_locale(locale)
    if style == "iso":
        return day.isoformat()
    if style == "short":
        if locale == "en-US":
            return f"{day.month:02d}/{day.day:02d}/{day.year}"
        if locale == "de-DE":
            return f"{day.day:02d}.{day.month:02d}.{day.year}"
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if style != "long":
        raise TransformError(f"Unknown date style {style!r}; use long, short or iso.")
    month = _MONTHS[locale[:2]][day.month - 1]
    if locale == "en-US":
        return f"{month} {day.day}, {day.year}"
    if locale == "de-DE":
        return f"{day.day}. {month} {day.year}"
    if locale == "fr-FR" and day.day == 1:
        return f"1er {month} {day.year}"
    return f"{day.day} {month} {day.year}"


def format_money(amount: Any, currency: str, *, locale: str = "en-GB", symbol: bool = True) -> str:
    locale = normalise_locale(locale)
    try:
        # Rounded to the currency's minor unit: ¥1,245 has no decimals, 1.250 KWD three.
        value = money_round(amount, currency)
    except (InvalidOperation, ValueError) as exc:
        raise TransformError(f"{amount!r} is not an amount of money.") from exc
    group, decimal_sep, after = _NUMBER_FORMAT[locale]
    sign = "-" if value < 0 else ""
    whole, _, cents = f"{abs(value):.{minor_units(currency)}f}".partition(".")
    parts: list[str] = []
    while len(whole) > 3:
        parts.insert(0, whole[-3:])
        whole = whole[:-3]
    parts.insert(0, whole)
    number = f"{group.join(parts)}{decimal_sep}{cents}" if cents else group.join(parts)
    currency = currency.upper()
    if not symbol:
        return f"{sign}{number} {currency}"
    mark = _LOCAL_SYMBOLS.get((locale, currency)) or _SYMBOLS.get(currency) or currency
    if after:
        return f"{sign}{number}{NBSP}{mark}"
    spacer = "" if mark in _SYMBOLS.values() or mark.endswith("$") else NBSP
    return f"{sign}{mark}{spacer}{number}"


def _money_parts(value: Any, step: dict[str, Any]) -> tuple[Any, str]:
    if isinstance(value, dict):
        return value.get("amount"), str(value.get("currency") or step.get("currency") or "")
    return value, str(step.get("currency") or "")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def apply_transform(value: Any, step: dict[str, Any], *, locale: str) -> Any:
    op = step.get("op")
    step_locale = step.get("locale") or locale
    if op == "default":
        return step.get("value", "") if _is_empty(value) else value
    if _is_empty(value):
        return value
    if op == "date":
        return format_date(value, locale=step_locale, style=step.get("style", "long"))
    if op == "money":
        amount, currency = _money_parts(value, step)
        if not currency:
            raise TransformError("Money needs a currency (in the value or the transform).")
        return format_money(amount, currency, locale=step_locale, symbol=step.get("symbol", True))
    if op in ("upper", "lower", "title"):
        text = str(value)
        return text.upper() if op == "upper" else text.lower() if op == "lower" else text.title()
    if op == "join":
        if not isinstance(value, list | tuple):
            return value
        key = step.get("key")
        items = [str(v.get(key, "")) if key and isinstance(v, dict) else str(v) for v in value]
        sep = step.get("separator", ", ")
        last = step.get("last_separator")
        if last and len(items) > 1:
            return sep.join(items[:-1]) + last + items[-1]
        return sep.join(items)
    if op == "lookup":
        table = step.get("table") or {}
        if str(value) in table:
            return table[str(value)]
        return step.get("fallback", value)
    raise TransformError(f"Unknown transform {op!r}; use one of {', '.join(TRANSFORMS)}.")


def transform_problems(transforms: Any) -> list[str]:
    """Why a transforms list is not valid (empty when it is)."""
    if not isinstance(transforms, list):
        return ['Transforms must be a list of steps such as {"op": "upper"}.']
    problems = []
    for i, step in enumerate(transforms, start=1):
        if not isinstance(step, dict) or step.get("op") not in TRANSFORMS:
            op = step.get("op") if isinstance(step, dict) else step
            problems.append(
                f"Transform {i}: unknown operation {op!r}; use one of {', '.join(TRANSFORMS)}."
            )
            continue
        if step.get("locale"):
            try:
                normalise_locale(step["locale"])
            except TransformError as exc:
                problems.append(f"Transform {i}: {exc}")
        if step["op"] == "date" and step.get("style", "long") not in ("long", "short", "iso"):
            problems.append(f"Transform {i}: date style must be long, short or iso.")
        if step["op"] == "lookup" and not isinstance(step.get("table"), dict):
            problems.append(f"Transform {i}: lookup needs a table of value → replacement.")
    return problems


def template_problems(template: CommunicationTemplate) -> list[str]:
    """Why nothing could be sent with this template whatever its mappings: the design is not
    approved in production, its driver sample could not be read, or no driver field keys the
    customer."""
    communication = template.exstream_communication
    problems = []
    if not communication.production_approved:
        problems.append(
            f"The Exstream communication '{communication.name}' is not approved on the "
            "production domain; it can be previewed but not sent."
        )
    if not communication.driver_fields:
        problems.append(
            f"The Exstream communication '{communication.name}' has no driver fields: "
            + (communication.sample_problem or "sync the Exstream catalogue.")
        )
    elif not template.customer_key_path:
        problems.append(
            "Choose which driver field is the customer key (the sample has no customer-number "
            "field); Colophon writes its message key there and reads it back from delivery "
            "files and e-mail events."
        )
    return problems


def mapping_problems(template: CommunicationTemplate) -> list[str]:
    """Every missing or unknown field, named: unknown context fields, required driver fields
    left unmapped, mappings to driver fields the Exstream communication does not have, and
    the template-level problems of ``template_problems``."""
    communication = template.exstream_communication
    driver_names = {f["name"] for f in communication.driver_fields}
    problems = template_problems(template)
    key_field = template.customer_key_path
    mappings = list(template.mappings.all())
    mapped = {m.driver_field for m in mappings}
    for m in mappings:
        if m.context_field not in REGISTRY:
            problems.append(
                f"Driver field '{m.driver_field}' is mapped to '{m.context_field}', "
                "which is not a Colophon context field."
            )
        if driver_names and m.driver_field not in driver_names:
            problems.append(
                f"'{m.driver_field}' is not a driver field of the Exstream communication "
                f"'{communication.name}'."
            )
        if key_field and m.driver_field == key_field:
            problems.append(
                f"'{m.driver_field}' is the customer key, which Colophon fills with its message "
                "key; remove this mapping."
            )
        problems.extend(f"'{m.driver_field}': {p}" for p in transform_problems(m.transforms))
    for name in template.required_driver_fields:
        if name in COLOPHON_SUPPLIED:
            continue
        if name not in mapped:
            problems.append(f"Required Exstream driver field '{name}' is not mapped.")
    return problems


def _compiled(template: CommunicationTemplate) -> list[FieldMapping]:
    cached: list[FieldMapping] | None = getattr(template, "_compiled_mappings", None)
    if cached is None:
        cached = list(template.mappings.all())
        template._compiled_mappings = cached  # type: ignore[attr-defined]
        template._required_driver = (  # type: ignore[attr-defined]
            set(template.required_driver_fields) - COLOPHON_SUPPLIED
        )
    return cached


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def build_driver_data(
    *, template: CommunicationTemplate, context: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The driver JSON for one recipient, and readable problems (empty when it is complete)."""
    mappings = _compiled(template)
    required_driver: set[str] = template._required_driver  # type: ignore[attr-defined]
    locale = template.locale or "en-GB"
    data: dict[str, Any] = {}
    problems: list[str] = []
    for m in mappings:
        if m.context_field not in REGISTRY:
            problems.append(f"'{m.driver_field}': unknown context field '{m.context_field}'.")
            continue
        value = context.get(m.context_field)
        try:
            for step in m.transforms:
                value = apply_transform(value, step, locale=locale)
        except TransformError as exc:
            problems.append(f"'{m.driver_field}' (from {m.context_field}): {exc}")
            continue
        if _is_empty(value) and (m.required or m.driver_field in required_driver):
            problems.append(
                f"Required field '{m.driver_field}' has no value "
                f"(from {REGISTRY[m.context_field].label})."
            )
        data[m.driver_field] = _jsonable(value)
    for name in sorted(required_driver - {m.driver_field for m in mappings}):
        problems.append(f"Required Exstream driver field '{name}' is not mapped.")
    return data, problems


# --- Services --------------------------------------------------------------------------------


def mapping_save(
    *,
    actor: Actor,
    template: CommunicationTemplate,
    driver_field: str,
    context_field: str,
    transforms: list[dict[str, Any]] | None = None,
    required: bool = False,
    mapping: FieldMapping | None = None,
) -> FieldMapping:
    """Create or change one mapping; refuses unknown context fields and bad transforms."""
    from django.core.exceptions import ValidationError

    errors: dict[str, list[str]] = {}
    if context_field not in REGISTRY:
        errors["context_field"] = [f"'{context_field}' is not a Colophon context field."]
    driver_names = {f["name"] for f in template.exstream_communication.driver_fields}
    if driver_names and driver_field not in driver_names:
        errors["driver_field"] = [
            f"'{driver_field}' is not a driver field of '{template.exstream_communication.name}'."
        ]
    problems = transform_problems(transforms or [])
    if problems:
        errors["transforms"] = problems
    clash = FieldMapping.objects.filter(template=template, driver_field=driver_field)
    if mapping is not None:
        clash = clash.exclude(pk=mapping.pk)
    if clash.exists():
        errors["driver_field"] = [f"'{driver_field}' is already mapped in this template."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        created = mapping is None
        if mapping is None:
            mapping = FieldMapping(template=template)
        mapping.driver_field = driver_field
        mapping.context_field = context_field
        mapping.transforms = transforms or []
        mapping.required = required
        mapping.save()
        log_action(
            actor=actor,
            verb="setup.mapping_created" if created else "setup.mapping_changed",
            target=mapping,
            imprint=template.imprint_id,
            data={
                "template": str(template),
                "driver_field": driver_field,
                "context_field": context_field,
                "transforms": transforms or [],
                "required": required,
            },
        )

        setup_changed(kind="template", object_id=template.pk)
    return mapping


def mapping_delete(*, actor: Actor, mapping: FieldMapping) -> None:
    with transaction.atomic():
        log_action(
            actor=actor,
            verb="setup.mapping_deleted",
            target=mapping,
            imprint=mapping.template.imprint_id,
            data={"template": str(mapping.template), "driver_field": mapping.driver_field},
        )

        setup_changed(kind="template", object_id=mapping.template_id)
        mapping.delete()


# Driver-field name fragments -> context field, for suggesting (and seeding) mappings.
_SUGGESTIONS: list[tuple[tuple[str, ...], str]] = [
    # Specific names first: the general fragments below would catch them wrongly ("date").
    (("materialdescription", "material"), "work.citation"),
    (("requestdetails",), "request.details"),
    (("prooflink", "proofurl", "accesslink", "link"), "campaign.link"),
    (("covercopy",), "work.blurb"),
    (("noticetext",), "work.release_summary"),
    (("changedfields", "changes"), "work.recent_changes"),
    (("season",), "work.season"),
    (("approveditem",), "work.project_stage"),
    (("licencereference", "licensereference"), "contract.name"),
    (("renewaldate",), "contract.expiry_date"),
    (("originaldate", "previousdate"), "product.previous_publication_date"),
    (("newdate", "reviseddate"), "product.publication_date"),
    (("subtitle",), "work.subtitle"),
    (("isbn",), "product.isbn"),
    (("coverimage", "coverurl"), "work.cover_url"),
    (("blurb",), "work.blurb"),
    (("confirmby", "respondby", "replyby", "deadline", "duedate"), "action.due_date"),
    (("publicationdate", "pubdate", "releasedate"), "product.publication_date"),
    (("formats",), "work.formats"),
    (("format",), "product.format"),
    (("prices",), "prices.by_territory"),
    (("price",), "prices.territory"),
    (("author", "contributor"), "contributors.authors"),
    (("contract", "agreement"), "contract.name"),
    (("reviewdate",), "contract.review_date"),
    (("expiry",), "contract.expiry_date"),
    (("territor",), "licensed_rights.all"),
    (("right",), "licensed_rights.all"),
    # A payee's statement breakdown (flow 3) before the general royalty fragments.
    (("amountwithheld", "withheld"), "statement.withheld"),
    (("statementnotes",), "statement.notes"),
    (("broughtforward",), "statement.brought_forward"),
    (("carriedforward",), "statement.carried_forward"),
    (("amountearned",), "statement.earned"),
    (("statementperiod",), "royalty.period_end"),
    (("periodstart",), "royalty.period_start"),
    (("periodend",), "royalty.period_end"),
    (("balance", "payable", "amountdue"), "royalty.balance"),
    (("currency",), "royalty.currency"),
    (("royalty", "earn", "total"), "royalty.total"),
    (("units",), "royalty.units"),
    (("lines",), "royalty.lines"),
    (("email",), "recipient.email"),
    (("address",), "recipient.address"),
    (("country",), "recipient.country"),
    (("imprint",), "imprint.name"),
    (("recipient", "payee", "contactname", "salutation", "name"), "recipient.name"),
    (("offer", "promo"), "offer.code"),
    (("campaign",), "campaign.name"),
    (("title",), "work.title"),
    (("date", "today"), "today"),
]


def suggest_context_field(driver_field: str) -> str | None:
    """A likely context field for a driver field, by name; None when nothing fits."""
    key = "".join(ch for ch in driver_field.lower() if ch.isalnum())
    for fragments, context_field in _SUGGESTIONS:
        if any(f in key for f in fragments):
            return context_field
    return None


def suggested_transforms(context_field: str, driver_field: str = "") -> list[dict[str, Any]]:
    if context_field in ("prices.territory", "royalty.total", "royalty.balance", "offer.price"):
        return [{"op": "money"}]
    if (
        context_field.endswith("_date")
        or context_field.startswith("dates.")
        or context_field
        in (
            "today",
            "royalty.period_start",
            "royalty.period_end",
            "product.publication_date",
        )
    ):
        return [{"op": "date", "style": "long"}]
    if context_field == "contributors.authors":
        return [{"op": "join", "separator": ", ", "last_separator": " and "}]
    if context_field == "changes.period":
        return [{"op": "join", "separator": "; "}]
    if context_field == "licensed_rights.all":
        key = "territory" if "territor" in driver_field.lower() else "right_type"
        return [{"op": "join", "key": key}]
    return []


def transform_words(step: dict[str, Any]) -> str:
    """One transform step as a person says it: "long date", "money", "join by territory"."""
    op = step.get("op") if isinstance(step, dict) else None
    if op == "date":
        style = step.get("style", "long")
        text = {"long": "long date", "short": "short date", "iso": "ISO date (YYYY-MM-DD)"}.get(
            style, f"{style} date"
        )
    elif op == "money":
        text = "money" + (f" in {step['currency']}" if step.get("currency") else "")
    elif op in ("upper", "lower", "title"):
        text = {"upper": "UPPER CASE", "lower": "lower case", "title": "Title Case"}[op]
    elif op == "join":
        text = "join" + (f" the {step['key'].replace('_', ' ')}s" if step.get("key") else "")
        if step.get("last_separator"):
            text += f" (last with “{step['last_separator'].strip()}”)"
    elif op == "default":
        text = f"“{step.get('value', '')}” when empty"
    elif op == "lookup":
        text = f"look up ({len(step.get('table') or {})} values)"
    else:
        return f"unknown step {op!r}"
    if step.get("locale"):
        text += f", {step['locale']}"
    return text


def transforms_words(steps: Any) -> str:
    """A transforms list in words ("long date, then UPPER CASE"); "—" when there is none."""
    if not isinstance(steps, list) or not steps:
        return "—"
    return ", then ".join(transform_words(s) for s in steps)
