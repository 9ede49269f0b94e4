"""The sandbox Exstream catalogue: approved communications for the publishing flows.

Each communication has a driver sample (a DAS ``samplefile`` resource linked to it, served as
resource content), built here from its fields: dotted names nest (``customer.customerNumber``
is ``{"customer": {"customerNumber": …}}``). Which fields are required is the design's own
knowledge: the sandbox keeps it beside each communication to answer a 422, and never serves it.
The designs key customers on ``customer.customerNumber``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from sandbox.models import ExstreamSandboxCommunication

_NS = uuid.UUID("6f1c1f2e-7d0b-4a57-9b8e-0c0ff0e5e001")

CUSTOMER_KEY = "customer.customerNumber"

# Every communication reads these; the design keys customers on customer.customerNumber.
COMMON_FIELDS = [
    {
        "name": CUSTOMER_KEY,
        "type": "string",
        "required": True,
        "description": "Keys the customer; comes back in delivery files and e-mail events.",
    },
    {"name": "recipientName", "type": "string", "required": True, "description": "Addressee."},
    {
        "name": "recipientEmail",
        "type": "string",
        "required": False,
        "description": "E-mail address for the e-mail channel.",
    },
    {"name": "imprintName", "type": "string", "required": True, "description": "Sending imprint."},
    {
        "name": "recipientAddress",
        "type": "string",
        "required": False,
        "description": "Postal address, one line per part (the letter's address block).",
    },
]
_TITLE = [
    {"name": "workTitle", "type": "string", "required": True, "description": "Title of the work."},
    {"name": "isbn", "type": "string", "required": False, "description": "ISBN-13."},
]


def _f(name: str, type_: str = "string", required: bool = True, description: str = "") -> dict:
    return {"name": name, "type": type_, "required": required, "description": description}


PRINT = {"name": "PrintPDF", "driver": "PDF", "prodFile": "letters.pdf", "use": "print"}
EMAIL = {"name": "EmailHTML", "driver": "HTML", "prodFile": "email.html", "use": "email"}
TEXT = {"name": "PlainText", "driver": "TEXT", "prodFile": "message.txt", "use": "sms"}
WEB = {"name": "SecureWebPDF", "driver": "PDF", "prodFile": "portal.pdf", "use": "web"}

# (name, extra driver fields, queues, hold for release)
CATALOGUE: list[tuple[str, list[dict], list[dict], bool]] = [
    (
        "Rights confirmation letter",
        [*_TITLE, _f("territories"), _f("rightsGranted"), _f("confirmByDate", "date")],
        [PRINT, EMAIL],
        False,
    ),
    (
        "Permission letter",
        [*_TITLE, _f("materialDescription"), _f("permissionFee", "decimal", False)],
        [PRINT, EMAIL],
        False,
    ),
    (
        "Licence renewal",
        [*_TITLE, _f("licenceReference"), _f("renewalDate", "date")],
        [PRINT, EMAIL],
        False,
    ),
    (
        "Royalty statement",
        [
            _f("statementPeriod"),
            _f("amountDue", "decimal"),
            _f("currency"),
            _f("statementLines", "array", False, "ISBN, channel, territory, units, royalty."),
            # The publisher's statement design also shows how the amount due was reached.
            _f("amountEarned", "decimal", False, "Royalties earned in the period."),
            _f("balanceBroughtForward", "decimal", False, "Unpaid balance from before."),
            _f("amountWithheld", "decimal", False, "Tax withheld."),
            _f("balanceCarriedForward", "decimal", False, "Balance carried to the next one."),
            _f("statementNotes", "array", False, "Notes printed on the statement."),
        ],
        # Secure web: the statement PDF published to the payee's portal (queue ``use`` "web").
        [PRINT, EMAIL, WEB],
        True,
    ),
    ("Approval notice", [*_TITLE, _f("approvedItem")], [EMAIL, TEXT], False),
    (
        "Publication delay letter",
        [*_TITLE, _f("originalDate", "date"), _f("newDate", "date")],
        [PRINT, EMAIL],
        False,
    ),
    ("Contributor request", [*_TITLE, _f("requestDetails"), _f("dueDate", "date")], [EMAIL], False),
    ("Review request", [*_TITLE, _f("reviewDeadline", "date")], [EMAIL], False),
    (
        "Proof approval",
        # Proofs may go on paper: the link is given only for online proofs.
        [*_TITLE, _f("proofLink", required=False), _f("respondByDate", "date")],
        [EMAIL],
        False,
    ),
    ("Cover copy confirmation", [*_TITLE, _f("coverCopy")], [EMAIL], False),
    ("Publication notification", [*_TITLE, _f("publicationDate", "date")], [EMAIL, TEXT], False),
    (
        "Launch announcement e-mail",
        [
            *_TITLE,
            _f("publicationDate", "date"),
            _f("blurb", required=False),
            _f("coverImageUrl", required=False, description="Front cover image address."),
            _f("formats", "array", False, "Formats available, e.g. Hardback — Available."),
            _f("prices", "array", False, "Price per territory, e.g. £16.99 (GB)."),
        ],
        [EMAIL],
        False,
    ),
    (
        "Retailer notice",
        [
            *_TITLE,
            _f("retailerAccount"),
            _f("noticeText"),
            _f("coverImageUrl", required=False, description="Front cover image address."),
            _f("prices", "array", False, "Price per territory, e.g. £16.99 (GB)."),
        ],
        [PRINT, EMAIL],
        False,
    ),
    ("Advance reader communication", [*_TITLE, _f("accessLink")], [EMAIL], False),
    (
        "Member renewal notice",
        [
            _f("membershipNumber", required=False),  # lists may carry none
            _f("renewalDate", "date"),
            # The book club's own design fields for its renewal offer (optional).
            _f("offerCode", required=False, description="Promotion code of the offer."),
            _f("offerPrice", required=False, description="Offer price, formatted."),
            _f("offerValidUntil", required=False, description="Last day of the offer."),
        ],
        [PRINT, EMAIL],
        False,
    ),
    ("Catalogue update", [_f("catalogueSeason"), _f("highlights", required=False)], [EMAIL], False),
    ("Metadata change notice", [*_TITLE, _f("changedFields")], [EMAIL], False),
    ("Release alert", [*_TITLE, _f("releaseDate", "date")], [EMAIL, TEXT], False),
    (
        "Customer-service delay notice",
        [*_TITLE, _f("orderReference", required=False), _f("newDate", "date")],
        [EMAIL, TEXT],
        False,
    ),
    (
        "Customer-service out-of-stock notice",
        [*_TITLE, _f("orderReference", required=False), _f("expectedDate", "date", False)],
        [EMAIL, TEXT],
        False,
    ),
    (
        "Customer-service format-substitution notice",
        [*_TITLE, _f("orderReference", required=False), _f("substituteFormat")],
        [EMAIL],
        False,
    ),
    (
        "Customer-service revised-date notice",
        [*_TITLE, _f("orderReference", required=False), _f("revisedDate", "date")],
        [EMAIL, TEXT],
        False,
    ),
]


_SAMPLE_VALUES = {"date": "2026-12-01", "decimal": "125.00"}


def sample_id_for(communication_set_id: str) -> str:
    """DAS id of the communication's driver sample (one per communication set)."""
    return str(uuid.uuid5(_NS, f"sample:{communication_set_id}"))


def driver_sample(driver_fields: list[dict]) -> dict:
    """The driver sample (JSON) a designer would upload: every field with a sample value."""
    sample: dict = {}
    for f in driver_fields:
        node = sample
        *parents, leaf = str(f["name"]).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _SAMPLE_VALUES.get(f.get("type", ""), f"Sample {leaf}")
    return sample


def get_path(data: dict, path: str) -> object:
    node: object = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def communication_id_for(name: str) -> str:
    """The same DAS id in every domain (designs are promoted between domains with their ids)."""
    return str(uuid.uuid5(_NS, f"communication:{name}"))


def _dsn(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", " ").split()) + "Driver"


@transaction.atomic
def seed_exstream_sandbox(
    domains: list[str] | None = None, *, only: list[str] | None = None
) -> int:
    """Create or refresh the catalogue on the production and preview domains (``only`` limits
    it to some names, for fast tests). Idempotent; returns the number of communications
    seeded. The lead's ``seed_sandbox`` may call this."""
    domains = domains or [settings.EXSTREAM_DOMAIN, settings.EXSTREAM_PREVIEW_DOMAIN]
    count = 0
    for domain in domains:
        for name, extra, queues, hold in CATALOGUE:
            if only is not None and name not in only:
                continue
            comm_id = communication_id_for(name)
            ExstreamSandboxCommunication.objects.update_or_create(
                domain=domain,
                communication_id=comm_id,
                version=1,
                defaults={
                    "communication_set_id": str(uuid.uuid5(_NS, f"set:{domain}:{name}")),
                    "name": name,
                    "state": "APPROVED",
                    "latest": True,
                    "dsn": _dsn(name),
                    "queues": queues,
                    "channels": sorted({q["use"] for q in queues}),
                    "driver_fields": [*COMMON_FIELDS, *extra],
                    "hold_for_release": hold,
                },
            )
            count += 1
    return count
