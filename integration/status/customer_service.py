"""Customer-service outcomes: what came of delay, out-of-stock, format-substitution and
revised-date notices, with their case references, linked to titles by ISBN or, when the source
names it, to the exact message by its key.

Sources: pushed / pulled Exstream events of type ``customer_service.outcome`` (shape below) and
a CSV upload. Each outcome is stored once (unique ``source_event_id``). Consonance documents no
mutation that can hold a customer-service case (reference §5), so outcomes stay in Colophon and
are available at ``/api/v1/customer-service-outcomes/`` and in the recurring-issues report.

Webhook / pulled event JSON accepted (``type`` or ``expctr.schemaType``)::

    {"type": "customer_service.outcome",
     "id": "evt_123",                       # optional; the webhook id is used otherwise
     "occurredAt": "2026-11-02T10:15:00Z",  # ISO 8601 or epoch milliseconds
     "data": {"caseReference": "CS-10442", "issueType": "delay",
              "isbn": "978-1-908435-50-0", "outcome": "accepted",
              "messageKey": "<Colophon message uuid>",   # optional
              "note": "Customer happy to wait"}}        # optional

The message key. The Exstream reference documents no customer-service or case report at all
(reference §6-§7: only the delivery file's per-customer ``<key name="…">`` elements, whose names
come from the design, and CXI e-mail events), so neither the event's ``messageKey`` nor the CSV's
``message_key`` is a documented vendor field. Both carry Colophon's own message key: the
``Message.key`` UUID Colophon writes at the design's customer-key field of every record it sends
(``connectors/exstream/driver.py``, ``with_customer_key``), which the contact centre can keep
with its case. Without it an outcome is linked by ISBN, as before.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.audit import log_action
from accounts.types import Actor, person
from integration.lib.csv import parse_date, read_csv
from integration.models import CommunicationType, CustomerServiceOutcome, Message, Product
from integration.status.apply import parse_message_key

EVENT_TYPE = "customer_service.outcome"
IT = CustomerServiceOutcome.IssueType
ISSUE_ALIASES: dict[str, str] = {
    "delay": IT.DELAY,
    "delay_notice": IT.DELAY,
    "out_of_stock": IT.OUT_OF_STOCK,
    "out_of_stock_notice": IT.OUT_OF_STOCK,
    "oos": IT.OUT_OF_STOCK,
    "format_substitution": IT.FORMAT_SUBSTITUTION,
    "format_substitution_notice": IT.FORMAT_SUBSTITUTION,
    "substitution": IT.FORMAT_SUBSTITUTION,
    "revised_date": IT.REVISED_DATE,
    "revised_date_notice": IT.REVISED_DATE,
}
TYPE_CODES: dict[str, str] = {
    IT.DELAY: "delay-notice",
    IT.OUT_OF_STOCK: "out-of-stock-notice",
    IT.FORMAT_SUBSTITUTION: "format-substitution-notice",
    IT.REVISED_DATE: "revised-date-notice",
}
CSV_COLUMNS = [
    "isbn",
    "issue_type",
    "case_reference",
    "outcome",
    "date",
    "note",
    "event_id",
    "message_key",
]


def normalize_isbn(value: str) -> str:
    return "".join(ch for ch in str(value) if ch.isdigit() or ch in "Xx").upper()


def normalize_issue(value: str) -> str | None:
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    return ISSUE_ALIASES.get(key)


def normalize_outcome(value: str) -> str | None:
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in CustomerServiceOutcome.Outcome.values else None


@dataclass(frozen=True)
class OutcomeInput:
    isbn13: str
    issue_type: str
    case_reference: str
    outcome: str
    occurred_at: datetime.datetime
    source: str
    source_event_id: str
    note: str = ""
    message_key: str = ""


def _products_by_isbn(isbns: set[str], *, imprint_id: int | None = None) -> dict[str, Product]:
    """ISBN → the product that has it. With ``imprint_id``, only that imprint's products count
    (an import never reaches into another imprint). Without one (webhooks, pulled events), an
    ISBN that titles of several imprints share is ambiguous and links to none: the outcome is
    kept unlinked rather than given to whichever imprint happens to come first."""
    found: dict[str, list[Product]] = {}
    for p in Product.objects.select_related("work").filter(isbn13__in=isbns).order_by("pk"):
        if p.isbn13 and (imprint_id is None or p.work.imprint_id == imprint_id):
            found.setdefault(p.isbn13, []).append(p)
    return {
        isbn: products[0]
        for isbn, products in found.items()
        if len({p.work.imprint_id for p in products}) == 1
    }


def customer_service_outcomes_ingest(
    *, outcomes: list[OutcomeInput], actor: Actor = None, imprint_id: int | None = None
) -> tuple[int, int]:
    """Store outcomes once each, linked to the title whose product has the ISBN, and to the
    message whose key they carry (never to another imprint's message). With a known message and
    no product for the ISBN, the outcome goes to the message's title. Returns (created, already
    known). Outcomes with neither are kept unlinked (imprint and title empty)."""
    if not outcomes:
        return 0, 0
    products = _products_by_isbn({o.isbn13 for o in outcomes}, imprint_id=imprint_id)
    types = {t.code: t for t in CommunicationType.objects.filter(code__in=TYPE_CODES.values())}
    known = set(
        CustomerServiceOutcome.objects.filter(
            source_event_id__in=[o.source_event_id for o in outcomes]
        ).values_list("source_event_id", flat=True)
    )
    keys = [o.message_key for o in outcomes if o.message_key]
    messages = _messages_by_key(keys)
    rows: list[CustomerServiceOutcome] = []
    for o in outcomes:
        if o.source_event_id in known:
            continue
        known.add(o.source_event_id)
        product = products.get(o.isbn13)
        message = messages.get(o.message_key)
        if message is not None and not _same_imprint(message, product, imprint_id):
            message = None  # never link another imprint's message to this outcome
        work = product.work if product else message.communication.work if message else None
        rows.append(
            CustomerServiceOutcome(
                imprint_id=(
                    product.work.imprint_id
                    if product
                    else message.communication.imprint_id
                    if message
                    else imprint_id
                ),
                work=work,
                product=product,
                issue_type=o.issue_type,
                communication_type=types.get(TYPE_CODES[o.issue_type]),
                message=message,
                isbn13=o.isbn13[:13],
                case_reference=o.case_reference[:100],
                outcome=o.outcome,
                occurred_at=o.occurred_at,
                source=o.source[:50],
                source_event_id=o.source_event_id[:300],
                note=o.note[:1000],
                recorded_by=person(actor),
            )
        )
    with transaction.atomic():
        CustomerServiceOutcome.objects.bulk_create(rows, ignore_conflicts=True)
        for work_id in {r.work_id for r in rows if r.work_id}:
            log_action(
                actor=actor,
                verb="customer_service.outcomes_recorded",
                target=None,
                imprint=next(r.imprint_id for r in rows if r.work_id == work_id),
                work_id=work_id,
                data={"count": sum(1 for r in rows if r.work_id == work_id)},
            )
    return len(rows), len(outcomes) - len(rows)


def _same_imprint(message: Message, product: Product | None, imprint_id: int | None) -> bool:
    """The message belongs to the imprint of the outcome's title and of the import, where
    those are known."""
    owner = message.communication.imprint_id
    return (product is None or product.work.imprint_id == owner) and (
        imprint_id is None or imprint_id == owner
    )


def _messages_by_key(keys: list[str]) -> dict[str, Message]:
    """Message key (as given, when it is a UUID) → the message, with its communication."""
    parsed = {k: parse_message_key(k) for k in keys}
    found = {
        m.key: m
        for m in Message.objects.select_related("communication__work", "communication__product")
        .filter(key__in=[u for u in parsed.values() if u is not None])
        .order_by()
    }
    return {k: found[u] for k, u in parsed.items() if u is not None and u in found}


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]


def customer_service_import_csv(
    *, actor: Actor, imprint_id: int, raw: bytes, filename: str = ""
) -> tuple[int, int]:
    """Import outcomes for one imprint. Columns: isbn, issue_type, case_reference, outcome,
    date (YYYY-MM-DD), note, event_id and message_key (optional). A row with a message key is
    linked to that message of this imprint and to its title (the ISBN may then be empty; when
    given it must be that title's); a row without one is linked by ISBN. Every row is checked
    first; one bad row imports nothing. Rows already imported (same event id, or same case,
    issue, outcome, ISBN, date and message key) are skipped."""
    policy.require(actor, policy.Action.IMPORT, imprint_id)
    rows = read_csv(raw, required=["issue_type", "case_reference", "outcome", "date"])
    if "isbn" not in rows[0] and "message_key" not in rows[0]:
        raise ValidationError(
            "The header row lacks isbn (or message_key); expected columns: "
            + ", ".join(CSV_COLUMNS)
            + "."
        )
    messages = _messages_by_key([r["message_key"] for r in rows if r.get("message_key")])
    products = _products_by_isbn(
        {normalize_isbn(r.get("isbn", "")) for r in rows}
        | {_message_isbn(m) for m in messages.values()},
        imprint_id=imprint_id,
    )
    # By source id: an event id another imprint's import (or a webhook for another imprint's
    # title) already stored is refused, not silently counted as "already known".
    taken = dict(
        CustomerServiceOutcome.objects.filter(
            source_event_id__in=[f"csv:{r['event_id']}" for r in rows if r.get("event_id")]
        )
        .exclude(imprint_id=imprint_id)
        .values_list("source_event_id", "imprint_id")
    )
    today = timezone.localdate()
    errors: list[str] = []
    outcomes: list[OutcomeInput] = []
    for number, row in enumerate(rows, start=2):
        where = f"Row {number}"
        key = row.get("message_key", "")
        message = messages.get(key) if key else None
        if message is not None and message.communication.imprint_id != imprint_id:
            message = None  # another imprint's message reads as unknown, and nothing of it is read
        isbn = normalize_isbn(row.get("isbn", ""))
        if not isbn and message is not None:
            isbn = _message_isbn(message)
        product = products.get(isbn)
        issue = normalize_issue(row.get("issue_type", ""))
        outcome = normalize_outcome(row.get("outcome", ""))
        case = row.get("case_reference", "")
        problems = []
        if key:
            problems += _message_key_problems(key, message, product)
        if not key and not row.get("isbn"):
            problems.append("give the isbn or the message_key")
        elif key and message is None:
            pass  # the key's problem is enough; the ISBN is not read without the message
        elif not isbn and message is not None and message.communication.work_id is None:
            problems.append("the message's communication names no title; give the isbn")
        elif isbn and len(isbn) != 13:
            problems.append(f"ISBN {row.get('isbn', '')!r} is not an ISBN-13")
        elif isbn and (product is None or product.work.imprint_id != imprint_id):
            problems.append(f"no title in this imprint has the ISBN {isbn}")
        if issue is None:
            problems.append(
                f"issue_type {row.get('issue_type', '')!r} is not one of " + ", ".join(IT.values)
            )
        if outcome is None:
            problems.append(
                f"outcome {row.get('outcome', '')!r} is not one of "
                + ", ".join(CustomerServiceOutcome.Outcome.values)
            )
        if not case:
            problems.append("case_reference is empty")
        if row.get("event_id") and f"csv:{row['event_id']}" in taken:
            problems.append(
                f"event_id {row['event_id']!r} is an outcome of another imprint; "
                "an import cannot change another imprint's outcomes"
            )
        try:
            on = parse_date(row.get("date", ""))
            if on > today:
                problems.append(f"the date {on} is in the future")
        except ValueError as exc:
            problems.append(str(exc))
            on = today
        if problems:
            errors.append(f"{where}: {'; '.join(problems)}.")
            continue
        assert issue is not None and outcome is not None
        # The key joins the digest only when given, so files without it keep their ids.
        event_id = row.get("event_id") or _digest(
            case, issue, outcome, isbn, on.isoformat(), *([str(message.key)] if message else [])
        )
        outcomes.append(
            OutcomeInput(
                isbn13=isbn,
                issue_type=issue,
                case_reference=case,
                outcome=outcome,
                occurred_at=datetime.datetime.combine(on, datetime.time(12, 0), datetime.UTC),
                source="csv",
                source_event_id=f"csv:{event_id}",
                note=row.get("note", ""),
                message_key=key,
            )
        )
    if errors:
        more = [f"… and {len(errors) - 50} more."] if len(errors) > 50 else []
        raise ValidationError(errors[:50] + more)
    with transaction.atomic():
        created, known = customer_service_outcomes_ingest(
            outcomes=outcomes, actor=actor, imprint_id=imprint_id
        )
        log_action(
            actor=actor,
            verb="customer_service.imported",
            target=filename or "CSV",
            imprint=imprint_id,
            data={"rows": len(rows), "created": created, "already_known": known},
        )
    return created, known


def _message_isbn(message: Message) -> str:
    """The ISBN a message was about: its communication's product's, if it names one."""
    product = message.communication.product
    return normalize_isbn(product.isbn13 or "") if product is not None else ""


def _message_key_problems(key: str, message: Message | None, product: Product | None) -> list[str]:
    """Why a row's message key cannot be used (``message``: this imprint's message with that
    key, if any; another imprint's reads as unknown, so an import neither links to it nor
    learns that it exists)."""
    if parse_message_key(key) is None:
        return [f"message_key {key!r} is not a Colophon message key (a UUID)"]
    if message is None:
        return [f"no message of this imprint has the key {key!r}"]
    work_id = message.communication.work_id
    if product is not None and work_id is not None and product.work_id != work_id:
        return [
            f"the ISBN {product.isbn13} is not the title of message {key} "
            f"(“{message.communication.work}”)"
        ]
    return []


def _when(value: Any) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or str(value).isdigit():
        return datetime.datetime.fromtimestamp(int(value) / 1000, tz=datetime.UTC)
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def outcome_from_event(
    payload: dict[str, Any], *, event_id: str, source: str, received_at: datetime.datetime
) -> OutcomeInput:
    """Validate one ``customer_service.outcome`` event; raises ValueError naming the problem."""
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValueError("The event has no 'data' object.")
    isbn = normalize_isbn(str(data.get("isbn") or ""))
    if len(isbn) != 13:
        raise ValueError(f"data.isbn {data.get('isbn')!r} is not an ISBN-13.")
    issue = normalize_issue(str(data.get("issueType") or ""))
    if issue is None:
        raise ValueError(f"data.issueType must be one of {', '.join(IT.values)}.")
    outcome = normalize_outcome(str(data.get("outcome") or ""))
    if outcome is None:
        raise ValueError(
            f"data.outcome must be one of {', '.join(CustomerServiceOutcome.Outcome.values)}."
        )
    case = str(data.get("caseReference") or "").strip()
    if not case:
        raise ValueError("data.caseReference is empty.")
    ident = str(payload.get("id") or event_id or "")
    if not ident:
        raise ValueError("The event has no id; outcomes are stored once per event id.")
    occurred = _when(payload.get("occurredAt")) or received_at
    if timezone.localdate(occurred) > timezone.localdate(received_at):
        # As the CSV import: an outcome cannot have happened after it was reported.
        raise ValueError(
            f"occurredAt {payload.get('occurredAt')!r} is in the future; outcomes are "
            "recorded once they have happened."
        )
    return OutcomeInput(
        isbn13=isbn,
        issue_type=issue,
        case_reference=case,
        outcome=outcome,
        occurred_at=occurred,
        source=source,
        source_event_id=f"{source}:{ident}",
        note=str(data.get("note") or ""),
        message_key=str(data.get("messageKey") or ""),
    )


def customer_service_webhook_handler(payload: dict[str, Any], inbound: Any) -> list[Any]:
    """The webhook's handler for ``customer_service.outcome`` (event type → handler dict).
    Stores the outcome; produces no message status events."""
    outcome = outcome_from_event(
        payload,
        event_id=str(inbound.event_id),
        source="exstream-webhook",
        received_at=inbound.received_at,
    )
    customer_service_outcomes_ingest(outcomes=[outcome])
    return []


def customer_service_events_ingest(*, bodies: list[str | dict[str, Any]], source: str) -> int:
    """Pulled outcome events (JSON bodies of the shape above); malformed ones raise."""
    outcomes = []
    for body in bodies:
        payload = json.loads(body) if isinstance(body, str) else body
        outcomes.append(
            outcome_from_event(
                payload,
                event_id=str(payload.get("id", "")),
                source=source,
                received_at=timezone.now(),
            )
        )
    created, _ = customer_service_outcomes_ingest(outcomes=outcomes)
    return created
