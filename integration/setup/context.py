"""The context-field registry: every value a template mapping may read, with a label, a
description, a sample value (so a mapping can be tried before real data exists) and a resolver
from real data.

Compose builds the title-level context once (``build_context(work=…, product=…, …)``) and, per
recipient, only the recipient-level fields (``recipient_context(recipient)``), then merges them:
``{**title_context, **recipient_context(r)}``. ``build_context(recipient=…)`` does both at once.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Territory
from integration.lib.codelists import name as code_name
from integration.lib.money import money_round
from integration.models import (
    ChangeEvent,
    Contract,
    DeliveryDate,
    Product,
    RoyaltyLine,
    Work,
)

Source = dict[str, Any]


@dataclass(frozen=True)
class ContextField:
    key: str
    label: str
    description: str
    sample: Any
    resolver: Callable[[Source], Any]
    level: str = "title"  # "title" (once per compose) or "recipient" (per recipient)
    group: str = "work"


def _money(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": amount, "currency": currency}


def _work(src: Source) -> Work | None:
    return src.get("work")


def _product(src: Source) -> Product | None:
    return src.get("product")


def _contract(src: Source) -> Contract | None:
    return src.get("contract")


def _attr(getter: Callable[[Source], Any], name: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        obj = getter(src)
        return getattr(obj, name, None) if obj is not None else None

    return resolve


def _price_for_territory(src: Source) -> dict[str, Any] | None:
    prices: list[Any] = src.get("prices") or []
    territory = (src.get("territory") or "").upper()
    # The groups the territory belongs to (FR is in EU): a EUR price, whose territory is EU,
    # is the price in France.
    groups = set(src.get("territory_groups") or ())
    in_group = fallback = None
    for price in prices:
        codes = price.territory.upper().replace(",", " ").split()
        if territory and territory in codes:
            return _money(price.amount, price.currency)
        if in_group is None and territory and groups.intersection(codes):
            in_group = price
        if fallback is None and (not price.territory or "WORLD" in codes or "ROW" in codes):
            fallback = price
    chosen = in_group or fallback
    return _money(chosen.amount, chosen.currency) if chosen else None


def _all_prices(src: Source) -> list[dict[str, Any]]:
    return [
        {"amount": p.amount, "currency": p.currency, "territory": p.territory}
        for p in src.get("prices") or []
    ]


def _contributors(src: Source) -> list[dict[str, Any]]:
    return [
        {"name": c.contact.name, "role": c.role, "email": c.contact.email}
        for c in src.get("contributions") or []
    ]


def _authors(src: Source) -> list[str]:
    return [c.contact.name for c in src.get("contributions") or [] if c.role == "A01"]


def _rights(src: Source) -> list[dict[str, Any]]:
    return [
        {"right_type": r.right_type, "territory": r.territory}
        for r in src.get("licensed_rights") or []
    ]


def _royalty_lines(src: Source) -> list[RoyaltyLine]:
    return list(src.get("royalty_lines") or [])


def _royalty_total(src: Source) -> dict[str, Any] | None:
    lines = _royalty_lines(src)
    if not lines:
        return None
    return _money(sum((ln.royalty for ln in lines), Decimal("0")), lines[0].currency)


def _royalty_balance(src: Source) -> dict[str, Any] | None:
    lines = _royalty_lines(src)
    if not lines:
        return None
    return _money(sum((ln.balance for ln in lines), Decimal("0")), lines[0].currency)


def _royalty_currency(src: Source) -> str | None:
    lines = _royalty_lines(src)
    return lines[0].currency if lines else None


def _royalty_units(src: Source) -> int | None:
    lines = _royalty_lines(src)
    return sum(ln.units - ln.returns for ln in lines) if lines else None


def _royalty_period(which: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        lines = _royalty_lines(src)
        if not lines:
            return None
        values = [getattr(ln, which) for ln in lines]
        return min(values) if which == "period_start" else max(values)

    return resolve


def _royalty_rows(src: Source) -> list[dict[str, Any]]:
    return [
        {
            "isbn": ln.isbn13,
            "channel": ln.channel,
            "territory": ln.territory,
            "units": ln.units - ln.returns,
            "royalty": str(ln.royalty),
            "currency": ln.currency,
        }
        for ln in _royalty_lines(src)
    ]


def _statement(name: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        statement = src.get("statement")
        return getattr(statement, name, None) if statement is not None else None

    return resolve


def _statement_amount(name: str) -> Callable[[Source], Any]:
    """A statement amount, rounded to its currency's minor unit (a plain decimal)."""

    def resolve(src: Source) -> Any:
        statement = src.get("statement")
        if statement is None:
            return None
        return money_round(getattr(statement, name), statement.currency)

    return resolve


def _statement_period(src: Source) -> str | None:
    statement = src.get("statement")
    if statement is None:
        return None
    return f"{statement.period_start.isoformat()} to {statement.period_end.isoformat()}"


def _statement_lines(src: Source) -> list[dict[str, Any]]:
    statement = src.get("statement")
    if statement is None:
        return []
    return [
        {
            "title": ln.work.title if ln.work else "",
            "isbn": ln.isbn13,
            "channel": ln.channel,
            "territory": ln.territory,
            "units": ln.units - ln.returns,
            "royalty": str(ln.royalty),
            "balance": str(ln.balance),
        }
        for ln in _royalty_lines(src)
    ]


def _recipient(name: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        recipient = src.get("recipient") or {}
        if isinstance(recipient, Mapping):
            return recipient.get(name)
        return getattr(recipient, name, None)

    return resolve


def _mapping_value(group: str, name: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        return (src.get(group) or {}).get(name)

    return resolve


def _offer_date(name: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        value = (src.get("offer") or {}).get(name)
        if isinstance(value, datetime.date) or value in (None, ""):
            return value or None
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            return None

    return resolve


def _contract_expiry(src: Source) -> datetime.date | None:
    contract = _contract(src)
    if contract is None or contract.signed_date is None or not contract.term_months:
        return None
    return add_months(contract.signed_date, contract.term_months)


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _imprint_name(src: Source) -> str | None:
    imprint = src.get("imprint")
    if imprint is None and src.get("work") is not None:
        imprint = src["work"].imprint
    return getattr(imprint, "name", None)


# ONIX list 153 text types, most blurb-like first: short description, description, main
# description. Any other text is the blurb only when there is nothing better.
_BLURB_TYPES = ("02", "03", "01")


def _blurb(src: Source) -> str | None:
    texts = [t for t in src.get("marketing_texts") or [] if (t.text or "").strip()]
    if not texts:
        return None
    texts.sort(key=lambda t: _BLURB_TYPES.index(t.text_type) if t.text_type in _BLURB_TYPES else 9)
    return str(texts[0].text).strip()


def _cover(src: Source) -> Any:
    resources = list(src.get("resources") or [])
    covers = [r for r in resources if r.is_cover] or [
        r for r in resources if (r.content_type or "").startswith("image/")
    ]
    return covers[0] if covers else None


def _cover_url(src: Source) -> str | None:
    cover = _cover(src)
    return cover.url if cover is not None else None


def _assets(src: Source) -> list[dict[str, Any]]:
    return [
        {"url": r.url, "caption": r.caption, "content_type": r.content_type, "cover": r.is_cover}
        for r in src.get("resources") or []
    ]


def _prices_by_territory(src: Source) -> list[str]:
    """ "16.99 GBP (GB)" per price, locale-neutral (a money transform needs one amount)."""
    return [
        f"{p.amount} {p.currency}" + (f" ({p.territory})" if p.territory else "")
        for p in src.get("prices") or []
    ]


def _format_availability(src: Source) -> list[str]:
    """ "Hardback — Available" for each of the work's products (ONIX lists 150/7 and 65)."""
    rows = []
    for product in src.get("products") or []:
        form = product.product_form_description or code_name(product.product_form, "150")
        availability = code_name(product.availability, "65")
        rows.append(f"{form} — {availability}" if availability else form)
    return [r for r in rows if r]


def _today_plus(days: int) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        today = src.get("today")
        return today + datetime.timedelta(days=days) if today else None

    return resolve


# Kept in step with integration.status.contributor_actions (which imports these): the words
# that pick a contract's delivery date for a type, and the default reply window.
DEFAULT_RESPONSE_DAYS = 14
DELIVERABLE_WORDS: dict[str, tuple[str, ...]] = {
    "proof-approval": ("proof",),
    "cover-copy-confirmation": ("cover copy", "cover"),
    "review-request": ("review",),
    "contributor-request": ("manuscript", "typescript"),
}


def response_due_date(
    *,
    type_code: str,
    dates: Iterable[DeliveryDate],
    today: datetime.date,
    why_none: str = "",
) -> tuple[datetime.date, DeliveryDate | None, str]:
    """The date a reply is due: the matching deliverable's slipped (or original) date —
    preferring undelivered deliverables — else today plus the default window, saying why.
    ``dates`` are those of the contracts that name the recipient (the actions board) or of the
    communication's title or contract (the letter's "respond by"); both use this rule."""
    words = DELIVERABLE_WORDS.get(type_code, ())
    matching = [
        d for d in dates if d.effective_due and any(w in d.deliverable_type.lower() for w in words)
    ]
    if matching:
        best = min(matching, key=lambda d: (int(d.delivered_on is not None), d.effective_due))
        which = "slipped date" if best.slipped else "due date"
        return best.effective_due, best, f"{best.deliverable_type} {which} on the contract"
    due = today + datetime.timedelta(days=DEFAULT_RESPONSE_DAYS)
    fallback = f"{DEFAULT_RESPONSE_DAYS} days from sending"
    if why_none:
        return due, None, f"{why_none}: {fallback}, nothing written back"
    return due, None, f"No matching delivery date on the recipient's contract; {fallback}"


def reminder_due_date(campaign: Mapping[str, Any]) -> datetime.date | None:
    """A reminder (``communications.reminders``) carries the due date of the action it chases
    (``campaign["due_on"]``): the reminder asks for the same thing by the same date."""
    if not campaign.get("reminder_for_action"):
        return None
    try:
        return datetime.date.fromisoformat(str(campaign.get("due_on") or ""))
    except ValueError:
        return None


def _action_due(src: Source) -> datetime.date | None:
    # Title-level: when several contracts of the title match, the board may pick the
    # recipient's own contract's date; with the communication's contract set they agree.
    today = src.get("today")
    if today is None:
        return None
    carried = reminder_due_date(src.get("campaign") or {})
    if carried is not None:
        return carried
    due, _delivery, _why = response_due_date(
        type_code=src.get("type_code") or "", dates=src.get("delivery_dates") or [], today=today
    )
    return due


def _slipped_delivery(src: Source) -> DeliveryDate | None:
    """The delivery date that slipped furthest (the communication's contract, else the
    title's): what a publication delay letter is about. None when nothing slipped."""
    slipped = [
        d
        for d in src.get("delivery_dates") or []
        if d.slipped is not None and d.due is not None and d.slipped > d.due
    ]
    return max(slipped, key=lambda d: (d.slipped - d.due, d.pk)) if slipped else None


def _slip_value(attr: str) -> Callable[[Source], Any]:
    def resolve(src: Source) -> Any:
        delivery = _slipped_delivery(src)
        return getattr(delivery, attr) if delivery is not None else None

    return resolve


# The catalogue changes a partner notice lists (field-level change events of the title).
PARTNER_CHANGE_KINDS = (
    ChangeEvent.Kind.PRICE,
    ChangeEvent.Kind.PUBLICATION_DATE,
    ChangeEvent.Kind.PUBLISHING_STATUS,
    ChangeEvent.Kind.AVAILABILITY,
)
_CHANGE_LABELS = {
    "publication_date": "Publication date",
    "planned_publication_date": "Planned publication date",
    "publishing_status": "Publishing status",
    "availability": "Availability",
}


def _change_text(value: Any) -> str:
    if value in (None, ""):
        return "none"
    if isinstance(value, list):
        return " to ".join(_change_text(v) for v in value)
    return str(value)


def period_changes(
    *, work: Work | None, start: datetime.date | None, end: datetime.date | None
) -> list[dict[str, Any]]:
    """The title's price, date, status and availability changes recorded in the period, one
    row per product and field: the first old value → the last new value (a change that was
    undone within the period is left out)."""
    if work is None or start is None or end is None:
        return []
    events = (
        ChangeEvent.objects.filter(
            work=work,
            kind__in=PARTNER_CHANGE_KINDS,
            created_at__date__gte=start,
            created_at__date__lte=end,
        )
        .select_related("product")
        .order_by("created_at", "id")
    )
    rows: dict[tuple[int | None, str], dict[str, Any]] = {}
    for event in events:
        key = (event.product_id, event.field)
        if key not in rows:
            isbn = event.product.isbn13 if event.product else ""
            label = (
                f"Price {event.field}"
                if event.kind == ChangeEvent.Kind.PRICE
                else _CHANGE_LABELS.get(event.field, event.field.replace("_", " ").capitalize())
            )
            rows[key] = {
                "kind": event.kind,
                "field": event.field,
                "label": label,
                "isbn": isbn or "",
                "old": event.old_value,
            }
        rows[key]["new"] = event.new_value
    out = []
    for row in rows.values():
        if row["old"] == row["new"]:
            continue
        where = f" ({row['isbn']})" if row["isbn"] else ""
        row["text"] = (
            f"{row['label']}{where}: {_change_text(row['old'])} → {_change_text(row['new'])}"
        )
        out.append(row)
    return out


def _period_changes(src: Source) -> list[str]:
    return [row["text"] for row in src.get("period_changes") or []]


def _citation(src: Source) -> str | None:
    """ "The Wild House by Ada Okafor (Hardback, ISBN 9780000000011)": the work a permission
    or licence letter is about, named as a citation from the mirror."""
    work = _work(src)
    if work is None:
        return None
    product = _product(src)
    by = work.contributor_list or ", ".join(_authors(src))
    text = f"{work.title}{f': {work.subtitle}' if work.subtitle else ''}"
    text += f" by {by}" if by else ""
    details = [
        d
        for d in (
            getattr(product, "product_form_description", "") or "",
            f"ISBN {product.isbn13}" if product is not None and product.isbn13 else "",
        )
        if d
    ]
    return text + (f" ({', '.join(details)})" if details else "")


def _request_details(src: Source) -> str | None:
    """What a contributor is asked for: for a reminder drafted from the actions board, that it
    is one; otherwise the matching deliverable's requirement on the contract (proofs, cover
    copy, review, manuscript); otherwise nothing (the drafter's template must then say it)."""
    work = _work(src)
    campaign = src.get("campaign") or {}
    if campaign.get("reminder_for_action") and work is not None:
        return f"A reminder: we are still waiting for your reply about “{work.title}”."
    today = src.get("today")
    if today is None:
        return None
    _due, delivery, _why = response_due_date(
        type_code=src.get("type_code") or "", dates=src.get("delivery_dates") or [], today=today
    )
    if delivery is None:
        return None
    requirement = (delivery.requirement or "").strip()
    if not requirement:
        return delivery.deliverable_type
    return f"{delivery.deliverable_type}: {requirement}"


def _release_summary(src: Source) -> str | None:
    """ "The Wild House is published on 2026-12-01. Hardback — Available; E-book — Not yet
    available." — what a retailer notice tells the trade, from the mirror."""
    work = _work(src)
    if work is None:
        return None
    product = _product(src)
    day = getattr(product, "publication_date", None)
    text = f"{work.title} is published on {day.isoformat()}." if day else f"{work.title}."
    formats = _format_availability(src)
    return f"{text} {'; '.join(formats)}." if formats else text


def _recent_changes(src: Source) -> list[str]:
    """The kinds of change Consonance recorded for the title lately (newest first, each once),
    in words: what a metadata change notice announces. Empty when nothing changed."""
    out: list[str] = []
    for kind, _old, _product_id in src.get("change_events") or []:
        label = str(ChangeEvent.Kind(kind).label)
        if label not in out:
            out.append(label)
    return out


# Change kinds a metadata change notice can announce (not the record's creation or removal).
_NOTICE_CHANGES = tuple(
    k for k in ChangeEvent.Kind if k not in (ChangeEvent.Kind.CREATED, ChangeEvent.Kind.WITHDRAWN)
)


def _recent_change_events(work: Work | None) -> list[tuple[str, Any, int | None]]:
    """(kind, old value, product id) of the title's latest changes, newest first."""
    if work is None:
        return []
    return list(
        ChangeEvent.objects.filter(work=work, kind__in=_NOTICE_CHANGES)
        .order_by("-created_at", "-id")
        .values_list("kind", "old_value", "product_id")[:20]
    )


def _previous_publication_date(src: Source) -> datetime.date | None:
    """The product's publication date before its latest change (a delay letter's "originally
    due"); None when Consonance never moved it."""
    product = _product(src)
    for kind, old, product_id in src.get("change_events") or []:
        if kind != ChangeEvent.Kind.PUBLICATION_DATE:
            continue
        if product is not None and product_id not in (None, product.pk):
            continue
        try:
            return _as_iso_date(old)
        except ValueError:
            return None
    return None


def _as_iso_date(value: Any) -> datetime.date | None:
    if isinstance(value, dict):  # tolerate {"publication_date": "…"} as well as a bare value
        value = next(iter(value.values()), None) if len(value) == 1 else None
    if not value:
        return None
    return datetime.date.fromisoformat(str(value)[:10])


_SAMPLE_DATE = datetime.date(2026, 3, 5)

FIELDS: list[ContextField] = [
    ContextField("work.title", "Title", "The work's title.", "The Lighthouse Keeper",
                 _attr(_work, "title")),
    ContextField("work.subtitle", "Subtitle", "The work's subtitle.", "A Novel",
                 _attr(_work, "subtitle")),
    ContextField("work.reference", "In-house reference", "The publisher's reference.", "HL-0042",
                 _attr(_work, "in_house_reference")),
    ContextField("work.project_stage", "Project stage", "Where the title is in production.",
                 "In production", _attr(_work, "project_stage")),
    ContextField("work.season", "Season", "Publishing season.", "Autumn 2026",
                 _attr(_work, "season")),
    ContextField("work.contributor_list", "Contributors (pretty)",
                 "Contributors as one phrase.", "Jane Doe and John Roe",
                 _attr(_work, "contributor_list")),
    ContextField("product.isbn", "ISBN-13", "The product's ISBN.", "9780000000001",
                 _attr(_product, "isbn13"), group="product"),
    ContextField("product.title", "Full title", "The product's full title.",
                 "The Lighthouse Keeper: A Novel", _attr(_product, "full_title"),
                 group="product"),
    ContextField("product.format", "Format", "Hardback, paperback, e-book …", "Hardback",
                 _attr(_product, "product_form_description"), group="product"),
    ContextField("product.publication_date", "Publication date", "The product's publication date.",
                 _SAMPLE_DATE, _attr(_product, "publication_date"), group="product"),
    ContextField("product.availability", "Availability", "ONIX list 65 code.", "20",
                 _attr(_product, "availability"), group="product"),
    ContextField("product.availability_name", "Availability (words)",
                 "The product's availability, named (ONIX list 65).", "Available",
                 lambda src: code_name(getattr(_product(src), "availability", None), "65")
                 or None, group="product"),
    ContextField("work.formats", "Format availability",
                 "Each format of the title with its availability.",
                 ["Hardback — Available", "E-book — Not yet available"],
                 _format_availability, group="product"),
    ContextField("work.blurb", "Blurb", "The title's marketing description (short one first).",
                 "A keeper's last winter on the rock, and the ship that never came.",
                 _blurb),
    ContextField("work.cover_url", "Cover image", "Address of the front cover image.",
                 "https://covers.example.test/lighthouse-keeper.jpg", _cover_url),
    ContextField("work.assets", "Cover and other assets",
                 "Every supporting resource: address, caption, type, whether it is the cover.",
                 [{"url": "https://covers.example.test/lighthouse-keeper.jpg",
                   "caption": "Front cover", "content_type": "image/jpeg", "cover": True}],
                 _assets),
    ContextField("prices.territory", "Price in the territory",
                 "The product's price for the compose territory (money).",
                 {"amount": Decimal("16.99"), "currency": "GBP"}, _price_for_territory,
                 group="prices"),
    ContextField("prices.all", "All prices", "Every price: amount, currency, territory.",
                 [{"amount": Decimal("16.99"), "currency": "GBP", "territory": "GB"},
                  {"amount": Decimal("24.99"), "currency": "USD", "territory": "US"}],
                 _all_prices, group="prices"),
    ContextField("prices.by_territory", "Prices by territory",
                 "One line per price: amount, currency and territory.",
                 ["16.99 GBP (GB)", "24.99 USD (US)"], _prices_by_territory, group="prices"),
    ContextField("contributors.all", "Contributors", "Name, role and e-mail of each.",
                 [{"name": "Jane Doe", "role": "A01", "email": "jane@authors.test"}],
                 _contributors, group="contributors"),
    ContextField("contributors.authors", "Authors", "Names of the authors (A01).",
                 ["Jane Doe", "John Roe"], _authors, group="contributors"),
    ContextField("contract.name", "Contract", "The agreement's name.",
                 "Agreement for The Lighthouse Keeper", _attr(_contract, "name"),
                 group="contract"),
    ContextField("contract.signed_date", "Contract signed", "Date the contract was signed.",
                 datetime.date(2025, 6, 1), _attr(_contract, "signed_date"), group="contract"),
    ContextField("contract.review_date", "Contract review date", "When it is due for review.",
                 datetime.date(2027, 6, 1), _attr(_contract, "review_date"), group="contract"),
    ContextField("contract.expiry_date", "Contract expiry", "Signed date plus term.",
                 datetime.date(2030, 6, 1), _contract_expiry, group="contract"),
    ContextField("licensed_rights.all", "Licensed rights", "Right type and territory of each.",
                 [{"right_type": "Translation", "territory": "FR"}], _rights, group="rights"),
    ContextField("royalty.total", "Royalty earned", "Sum of royalties in the statement (money).",
                 {"amount": Decimal("1234.56"), "currency": "GBP"}, _royalty_total,
                 level="recipient", group="royalty"),
    ContextField("royalty.balance", "Balance payable", "Sum of balances (money).",
                 {"amount": Decimal("734.56"), "currency": "GBP"}, _royalty_balance,
                 level="recipient", group="royalty"),
    ContextField("royalty.units", "Net units", "Units sold less returns.", 1520,
                 _royalty_units, level="recipient", group="royalty"),
    ContextField("royalty.period_start", "Period start", "First day of the statement period.",
                 datetime.date(2026, 1, 1), _royalty_period("period_start"),
                 level="recipient", group="royalty"),
    ContextField("royalty.period_end", "Period end", "Last day of the statement period.",
                 datetime.date(2026, 6, 30), _royalty_period("period_end"),
                 level="recipient", group="royalty"),
    ContextField("royalty.currency", "Statement currency", "Currency of the royalty lines.",
                 "GBP", _royalty_currency, level="recipient", group="royalty"),
    ContextField("royalty.lines", "Statement lines", "ISBN, channel, territory, units, royalty.",
                 [{"isbn": "9780000000001", "channel": "Home", "territory": "GB", "units": 1520,
                   "royalty": "1234.56", "currency": "GBP"}], _royalty_rows,
                 level="recipient", group="royalty"),
    ContextField("statement.period", "Statement period", "First and last day (ISO).",
                 "2026-01-01 to 2026-06-30", _statement_period, level="recipient",
                 group="statement"),
    ContextField("statement.currency", "Statement currency", "ISO 4217 code.", "GBP",
                 _statement("currency"), level="recipient", group="statement"),
    ContextField("statement.earned", "Earned this period",
                 "Sum of the statement's line balances, rounded to the currency.",
                 Decimal("1234.56"), _statement_amount("earned"), level="recipient",
                 group="statement"),
    ContextField("statement.brought_forward", "Balance brought forward",
                 "Carried forward from the payee's previous statement.", Decimal("20.00"),
                 _statement_amount("brought_forward"), level="recipient", group="statement"),
    ContextField("statement.withheld", "Withheld", "Tax withheld under the imprint's rules.",
                 Decimal("250.91"), _statement_amount("withheld"), level="recipient",
                 group="statement"),
    ContextField("statement.payable", "Amount due",
                 "Paid this time: earned + brought forward − withheld (0 when carried).",
                 Decimal("1003.65"), _statement_amount("payable"), level="recipient",
                 group="statement"),
    ContextField("statement.carried_forward", "Balance carried forward",
                 "Not paid (below the minimum payment, or unearned); on the next statement.",
                 Decimal("0.00"), _statement_amount("carried_forward"), level="recipient",
                 group="statement"),
    ContextField("statement.notes", "Statement notes",
                 "Rule notes (e.g. withholding) and why a balance was carried forward.",
                 ["UK basic-rate tax is withheld from payments to overseas agents."],
                 _statement("notes"), level="recipient", group="statement"),
    ContextField("statement.lines", "Statement lines (with titles)",
                 "Title, ISBN, channel, territory, net units, royalty and balance per line.",
                 [{"title": "The Lighthouse Keeper", "isbn": "9780000000001",
                   "channel": "Home", "territory": "GB", "units": 1520, "royalty": "1234.56",
                   "balance": "734.56"}], _statement_lines, level="recipient",
                 group="statement"),
    ContextField("recipient.name", "Recipient name", "Who the communication is addressed to.",
                 "Jane Doe", _recipient("name"), level="recipient", group="recipient"),
    ContextField("recipient.email", "Recipient e-mail", "Their e-mail address.",
                 "jane@authors.test", _recipient("email"), level="recipient", group="recipient"),
    ContextField("recipient.address", "Recipient address", "Postal address, one line per part.",
                 "1 Harbour Street\nFalmouth\nTR11 2AA", _recipient("address"),
                 level="recipient", group="recipient"),
    ContextField("recipient.reference", "Recipient reference",
                 "Colophon's reference for the recipient (list row or contact), e.g. a "
                 "membership number's stand-in.", "member:1042", _recipient("key"),
                 level="recipient", group="recipient"),
    ContextField("recipient.country", "Recipient country", "ISO country code.", "GB",
                 _recipient("country"), level="recipient", group="recipient"),
    ContextField("offer.code", "Offer code", "Promotion code.", "LIGHT20",
                 _mapping_value("offer", "code"), group="offer"),
    ContextField("offer.description", "Offer", "What the offer is.", "20% off until launch day",
                 _mapping_value("offer", "description"), group="offer"),
    ContextField("offer.price", "Offer price", "Discounted price (money).",
                 {"amount": Decimal("12.99"), "currency": "GBP"},
                 _mapping_value("offer", "price"), group="offer"),
    ContextField("offer.valid_until", "Offer valid until",
                 "Last day of the offer (nothing is sent after it).", _SAMPLE_DATE,
                 _offer_date("valid_until"), group="offer"),
    ContextField("campaign.name", "Campaign", "Marketing campaign name.", "Autumn launches",
                 _mapping_value("campaign", "name"), group="campaign"),
    ContextField("campaign.code", "Campaign code", "Tracking code.", "AUT26",
                 _mapping_value("campaign", "code"), group="campaign"),
    ContextField("campaign.link", "Campaign link",
                 "An address the campaign sends readers to (e.g. the advance reading copy).",
                 "https://readers.example.test/lighthouse-keeper",
                 _mapping_value("campaign", "link"), group="campaign"),
    ContextField("today", "Today", "The date of composing.", _SAMPLE_DATE,
                 lambda src: src.get("today")),
    ContextField("dates.today_plus_7", "Today + 7 days", "A week from composing.",
                 _SAMPLE_DATE + datetime.timedelta(days=7), _today_plus(7), group="dates"),
    ContextField("dates.today_plus_14", "Today + 14 days", "Two weeks from composing.",
                 _SAMPLE_DATE + datetime.timedelta(days=14), _today_plus(14), group="dates"),
    ContextField("dates.today_plus_30", "Today + 30 days", "Thirty days from composing.",
                 _SAMPLE_DATE + datetime.timedelta(days=30), _today_plus(30), group="dates"),
    ContextField("action.due_date", "Reply due date",
                 "When the reply is due on the actions board: the contract's matching "
                 "delivery date (proofs, cover copy, review, manuscript), else "
                 f"{DEFAULT_RESPONSE_DAYS} days from composing.",
                 _SAMPLE_DATE + datetime.timedelta(days=DEFAULT_RESPONSE_DAYS), _action_due,
                 group="dates"),
    ContextField("changes.period", "Catalogue changes of the period",
                 "Each price, date, status or availability change of the title in the "
                 "notice's period: old → new, one line per product and field.",
                 ["Price GBP 02 GB (9780000000001): 16.99 → 18.99",
                  "Publication date (9780000000001): 2026-05-01 → 2026-06-12"],
                 _period_changes, group="changes"),
    ContextField("imprint.name", "Imprint", "The sending imprint's name.", "Harbour Lights",
                 _imprint_name),
    ContextField("delivery.slipped_deliverable", "Slipped deliverable",
                 "The deliverable whose delivery date slipped furthest (the contract's, else "
                 "the title's), e.g. Manuscript.", "Manuscript",
                 _slip_value("deliverable_type"), group="dates"),
    ContextField("delivery.original_date", "Original delivery date",
                 "The slipped deliverable's original due date.", _SAMPLE_DATE,
                 _slip_value("due"), group="dates"),
    ContextField("delivery.slipped_date", "Slipped delivery date",
                 "The slipped deliverable's new (slipped) date.",
                 _SAMPLE_DATE + datetime.timedelta(days=30), _slip_value("slipped"),
                 group="dates"),
    ContextField("work.citation", "Title as cited",
                 "Title, authors, format and ISBN in one line: the material a permission or "
                 "licence is about.",
                 "The Lighthouse Keeper by Jane Doe (Hardback, ISBN 9780000000001)", _citation),
    ContextField("work.release_summary", "Release summary",
                 "Publication date and each format's availability, as one text.",
                 "The Lighthouse Keeper is published on 2026-03-05. Hardback — Available.",
                 _release_summary, group="product"),
    ContextField("product.previous_publication_date", "Previous publication date",
                 "The publication date before Consonance last moved it (a delay letter's "
                 "original date).", _SAMPLE_DATE - datetime.timedelta(days=30),
                 _previous_publication_date, group="product"),
    ContextField("work.recent_changes", "Recent changes",
                 "What Consonance changed on the title lately (price, dates, status …).",
                 ["Price changed", "Publication date changed"], _recent_changes),
    ContextField("request.details", "What is asked",
                 "For a reminder, that it is one; otherwise the contract's matching deliverable "
                 "and its requirement (proofs, cover copy, review, manuscript).",
                 "Proofs: first proofs for the author's corrections", _request_details,
                 group="dates"),
    ContextField("campaign.link", "Link", "A link the drafter gives: proofs to read, an "
                 "advance reading copy, a landing page.",
                 "https://proofs.example.test/lighthouse-keeper.pdf",
                 _mapping_value("campaign", "link"), group="campaign"),
]  # fmt: skip

REGISTRY: dict[str, ContextField] = {f.key: f for f in FIELDS}
RECIPIENT_FIELDS = [f for f in FIELDS if f.level == "recipient"]
TITLE_FIELDS = [f for f in FIELDS if f.level == "title"]


def sample_context() -> dict[str, Any]:
    return {f.key: f.sample for f in FIELDS}


def _title_source(
    *,
    work: Work | None,
    product: Product | None,
    contract: Contract | None,
    offer: Mapping[str, Any] | None,
    campaign: Mapping[str, Any] | None,
    territory: str | None,
    today: datetime.date | None = None,
    type_code: str = "",
    period: tuple[datetime.date | None, datetime.date | None] = (None, None),
) -> Source:
    """Load everything title-level in a handful of queries."""
    if product is not None and work is None:
        work = product.work
    products = list(work.products.order_by("publication_date", "id")) if work else []
    if work is not None and product is None:
        product = products[0] if products else None
    contributions = (
        list(work.contributions.select_related("contact").order_by("sequence")) if work else []
    )
    prices = list(product.prices.all()) if product else []
    explicit_contract = contract is not None
    if contract is None and work is not None:
        contract = work.contracts.order_by("-signed_date", "id").first()
    rights = list(contract.licensed_rights.filter(ended_at__isnull=True)) if contract else []
    # The same delivery dates the actions board reads: the communication's contract, else
    # every contract of the title.
    dates_qs = DeliveryDate.objects.select_related("contract")
    if explicit_contract and contract is not None:
        delivery_dates = list(dates_qs.filter(contract=contract))
    elif work is not None:
        delivery_dates = list(dates_qs.filter(contract__work=work))
    else:
        delivery_dates = []
    return {
        "products": products,
        "marketing_texts": list(work.marketing_texts.all()) if work else [],
        "resources": list(work.supporting_resources.all()) if work else [],
        "change_events": _recent_change_events(work),
        "delivery_dates": delivery_dates,
        "type_code": type_code,
        "work": work,
        "product": product,
        "contract": contract,
        "contributions": contributions,
        "prices": prices,
        "licensed_rights": rights,
        "offer": dict(offer or {}),
        "campaign": dict(campaign or {}),
        "territory": territory or "",
        "territory_groups": _groups_of(territory or ""),
        "period_changes": period_changes(work=work, start=period[0], end=period[1]),
        "today": today or timezone.localdate(),
    }


def _groups_of(territory: str) -> list[str]:
    if not territory:
        return []
    return list(
        Territory.objects.filter(kind=Territory.Kind.GROUP, members__code=territory.upper())
        .values_list("code", flat=True)
        .distinct()
    )


def recipient_context(
    recipient: Any = None, royalty_lines: Iterable[RoyaltyLine] | None = None
) -> dict[str, Any]:
    """Only the recipient-level fields: cheap, no queries (pass royalty lines pre-fetched)."""
    src: Source = {"recipient": recipient, "royalty_lines": list(royalty_lines or [])}
    return {f.key: f.resolver(src) for f in RECIPIENT_FIELDS}


def build_context(
    *,
    work: Work | None = None,
    product: Product | None = None,
    contract: Contract | None = None,
    recipient: Any = None,
    royalty_lines: Iterable[RoyaltyLine] | None = None,
    offer: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    territory: str | None = None,
    sample: bool = False,
    today: datetime.date | None = None,
    communication_type: Any = None,
    period: tuple[datetime.date | None, datetime.date | None] = (None, None),
) -> dict[str, Any]:
    """The context a mapping reads, keyed by context-field key. ``sample=True`` fills every
    field that real data leaves empty with its sample value (for trying a mapping)."""
    src = _title_source(
        work=work,
        product=product,
        contract=contract,
        offer=offer,
        campaign=campaign,
        territory=territory,
        today=today,
        type_code=getattr(communication_type, "code", "") or "",
        period=period,
    )
    context = {f.key: f.resolver(src) for f in TITLE_FIELDS}
    context.update(recipient_context(recipient, royalty_lines))
    if sample:
        for field in FIELDS:
            if context.get(field.key) in (None, "", [], {}):
                context[field.key] = field.sample
    return context
