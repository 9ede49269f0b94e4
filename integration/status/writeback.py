"""Write-back to Consonance through the outbox (kind ``CONSONANCE_WRITEBACK``).

A business event (a proof approval received, a rights confirmation delivered, gratis copies
sent, a contributor response recorded) becomes one ``WritebackRecord`` — unique per business
event, so it is written back at most once. When the imprint has an enabled ``WritebackRule``
for the event kind and a documented mutation fits, the record is queued in the outbox with a
stable ``clientMutationId`` (``colophon-<record uuid>``); otherwise it is kept in Colophon with
the reason, and is available through ``/api/v1/writebacks/``.

What each event writes (only mutations Consonance documents, reference §5):

* **proof approval received / response recorded** → ``updateDeliveryDate`` on the contract's
  matching delivery date. Consonance's DeliveryDate has no "delivered on" field (``dateDue``,
  ``slippedDate``, ``deliverableType``, ``deliveryRequirement``); we set ``slippedDate`` to the
  date the approval arrived when it arrived after the (slipped) due date, so Consonance shows
  when the deliverable really came in. On time, there is nothing the API can say: kept in
  Colophon.
* **rights confirmation delivered** → ``updateContract``'s ``description``: we append one dated
  line naming the recipient and the clientMutationId. ``description`` is the only documented
  writable free-text field on a contract; ``notes`` and a dedicated delivery field do not exist.
  We read the current description at send time and append, never replace, and the marker lets
  a retry see that the line is already there.
* **gratis copy sent** → ``updateGratisCopy`` with ``sentOn``.

Only the recipient's own contract is written (issue 11, defect 8): a delivery date or gratis copy
is written only when its contract names the recipient (``Contract.names``: one of its gratis
copies is for that contact; a contract's ``client`` is the publisher's own record and names
nobody). Otherwise the record is kept with the reason and nothing is sent.

Note: the documented SDL also lists ``DeliveryDate.actualDate`` (settable through
``UpdateDeliveryDateInput``); Colophon does not use it yet (see docs/consonance.md).

Reconcile (before any retry) reads the contract back and checks whether the change is already
there; only if not is the mutation sent again.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts import policy
from accounts.audit import log_action
from accounts.types import Actor
from integration.connectors.consonance.client import ConsonanceClient
from integration.delivery.outbox import SendResult, outbox_enqueue
from integration.lib.http import ExternalServiceError
from integration.models import (
    Contact,
    Contract,
    DeliveryDate,
    GratisCopy,
    OutboxItem,
    WritebackRecord,
    WritebackRule,
)

K = WritebackRule.EventKind
M = WritebackRule.Mutation

# Which documented mutation can carry each event kind.
ALLOWED_MUTATIONS: dict[str, set[str]] = {
    K.PROOF_APPROVAL_RECEIVED: {M.UPDATE_DELIVERY_DATE},
    K.RESPONSE_RECORDED: {M.UPDATE_DELIVERY_DATE},
    K.RIGHTS_CONFIRMATION_DELIVERED: {M.UPDATE_CONTRACT},
    K.GRATIS_COPY_SENT: {M.UPDATE_GRATIS_COPY},
    # Flow 2 (integration/status/rights.py): a dated line on the notice's own contract.
    K.RIGHTS_NOTICE_DELIVERED: {M.UPDATE_CONTRACT},
    K.RIGHTS_RESPONSE_RECORDED: {M.UPDATE_CONTRACT},
}
DEFAULT_MUTATION: dict[str, str] = {kind: sorted(m)[0] for kind, m in ALLOWED_MUTATIONS.items()}
# Query documents in integration/connectors/consonance/queries/ per mutation.
OPERATIONS = {
    M.UPDATE_DELIVERY_DATE: "UpdateDeliveryDate",
    M.UPDATE_CONTRACT: "UpdateContract",
    M.UPDATE_GRATIS_COPY: "UpdateGratisCopy",
}
READ_CONTRACT = "WritebackContract"


class RuleCache:
    """Rules per (imprint, event kind), loaded once per imprint within one call."""

    def __init__(self) -> None:
        self._rules: dict[int, dict[str, WritebackRule]] = {}

    def get(self, imprint_id: int, kind: str) -> WritebackRule | None:
        if imprint_id not in self._rules:
            self._rules[imprint_id] = {
                r.event_kind: r for r in WritebackRule.objects.filter(imprint_id=imprint_id)
            }
        return self._rules[imprint_id].get(kind)


def _keep(record: WritebackRecord, reason: str) -> WritebackRecord:
    record.status = WritebackRecord.Status.KEPT
    record.reason = reason
    record.save()
    return record


def writeback_event_record(
    *,
    imprint_id: int,
    work_id: int | None,
    event_kind: str,
    business_key: str,
    summary: str,
    occurred_at: datetime.datetime,
    target: dict[str, Any],
    actor: Actor = None,
    rules: RuleCache | None = None,
) -> WritebackRecord:
    """Record one business event and, if a rule says so and a mutation fits, queue it for
    Consonance. Idempotent on ``business_key``. Call inside the caller's transaction.

    ``target`` names what the mutation touches: ``{"delivery_date": id, "on": "YYYY-MM-DD"}``,
    ``{"contract": id, "line": "…"}`` or ``{"gratis_copy": id, "on": "YYYY-MM-DD"}``."""
    existing = WritebackRecord.objects.filter(business_key=business_key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        record = WritebackRecord.objects.create(
            imprint_id=imprint_id,
            work_id=work_id,
            event_kind=event_kind,
            business_key=business_key[:200],
            summary=summary[:500],
            occurred_at=occurred_at,
            status=WritebackRecord.Status.KEPT,
        )
        rule = (rules or RuleCache()).get(imprint_id, event_kind)
        if rule is None or not rule.enabled:
            _keep(record, "No write-back rule is switched on for this event in the imprint.")
        elif rule.mutation not in ALLOWED_MUTATIONS.get(event_kind, set()):
            _keep(record, f"{rule.mutation} cannot carry a {record.get_event_kind_display()}.")
        else:
            built = _build(rule.mutation, target)
            if isinstance(built, str):
                _keep(record, built)
            else:
                record.mutation = rule.mutation
                record.mutation_input = {
                    **built["input"],
                    "clientMutationId": record.client_mutation_id,
                }
                record.status = WritebackRecord.Status.QUEUED
                item = outbox_enqueue(
                    kind=OutboxItem.Kind.CONSONANCE_WRITEBACK,
                    external_id=record.client_mutation_id,
                    payload={
                        "record": record.pk,
                        "mutation": rule.mutation,
                        "input": record.mutation_input,
                        "contract_id": built["contract_id"],
                        "check": built["check"],
                    },
                    imprint_id=imprint_id,
                    work_id=work_id,
                    subject=record,
                )
                record.outbox_item = item
                record.save()
        log_action(
            actor=actor,
            verb=f"writeback.{record.status}",
            target=record,
            imprint=imprint_id,
            work_id=work_id,
            data={"event": event_kind, "mutation": record.mutation, "reason": record.reason},
        )
    return record


def _not_recipients(contract: Contract, target: dict[str, Any]) -> str:
    """Why ``contract`` may not be written for this event's recipient, or ``""``: only a contract
    that names the recipient (``Contract.names``: its gratis copies' contactId) is written, never
    a co-contributor's (issue 11, defect 8)."""
    contact = Contact.objects.filter(pk=target.get("contact") or 0).first()
    if contact is None:
        return (
            f"The recipient is not a Consonance contact, so {contract} cannot be shown to be "
            "theirs. Nothing is written to Consonance."
        )
    if not contract.names(contact):
        return (
            f"{contract} does not name {contact.name} (none of its gratis copies is theirs). "
            "Nothing is written to Consonance."
        )
    return ""


def _build(mutation: str, target: dict[str, Any]) -> dict[str, Any] | str:
    """The mutation input, the contract to read back and what to check; or why not."""
    if mutation == M.UPDATE_DELIVERY_DATE:
        delivery = (
            DeliveryDate.objects.select_related("contract")
            .filter(pk=target.get("delivery_date") or 0)
            .first()
        )
        if delivery is None:
            why = str(target.get("why") or "").strip()
            return (
                f"{why}."
                if why and not why.startswith("No matching delivery date")
                else "No matching delivery date on the recipient's contract"
            ) + " Nothing is written to Consonance."
        refused = _not_recipients(delivery.contract, target)
        if refused:
            return refused
        if delivery.consonance_id is None:
            return "The delivery date is not known to Consonance (no Consonance id)."
        received = datetime.date.fromisoformat(str(target["on"]))
        due = delivery.effective_due
        if due is not None and received <= due:
            return (
                f"Received on {received}, on or before the due date {due}; Consonance's delivery "
                "dates have no delivered-on field, so there is nothing to write."
            )
        return {
            "input": {"id": delivery.consonance_id, "slippedDate": received.isoformat()},
            "contract_id": delivery.contract.consonance_id,
            "check": {
                "collection": "deliveryDates",
                "id": delivery.consonance_id,
                "field": "slippedDate",
                "value": received.isoformat(),
            },
        }
    if mutation == M.UPDATE_GRATIS_COPY:
        copy = GratisCopy.objects.select_related("contract").filter(
            pk=target.get("gratis_copy") or 0
        )
        gratis = copy.first()
        if gratis is None or gratis.consonance_id is None:
            return "The gratis copy is not known to Consonance (no Consonance id)."
        if "contact" in target:
            refused = _not_recipients(gratis.contract, target)
            if refused:
                return refused
        sent = str(target["on"])
        return {
            "input": {"id": gratis.consonance_id, "sentOn": sent},
            "contract_id": gratis.contract.consonance_id,
            "check": {
                "collection": "gratisCopies",
                "id": gratis.consonance_id,
                "field": "sentOn",
                "value": sent,
            },
        }
    if mutation == M.UPDATE_CONTRACT:
        # The contract the communication itself names (chosen by a person, about that very
        # contract); the line appended names the recipient. Not derived from the recipient, so
        # no party check here — unlike delivery dates and gratis copies, which are theirs.
        contract = Contract.objects.filter(pk=target.get("contract") or 0).first()
        if contract is None:
            return "The communication names no contract; the record stays in Colophon."
        return {
            "input": {"id": contract.consonance_id},
            "contract_id": contract.consonance_id,
            "check": {"append_description": str(target.get("line", ""))[:400]},
        }
    return f"{mutation} is not a write-back Colophon knows how to make."


# --- the outbox handler ----------------------------------------------------------------------


def default_client() -> Any:
    return ConsonanceClient()


class ConsonanceWritebackHandler:
    """Sends ``CONSONANCE_WRITEBACK`` outbox rows. ``client_factory`` returns an object with
    ``graphql(operation, variables)`` and ``mutate(operation, input)`` (the Consonance client)."""

    def __init__(self, client_factory: Callable[[], Any] = default_client) -> None:
        self.client_factory = client_factory

    def _contract(self, client: Any, contract_id: int) -> dict[str, Any]:
        data = client.graphql(READ_CONTRACT, {"id": contract_id})
        contract = data.get("contract")
        if not isinstance(contract, dict):
            raise ExternalServiceError(
                f"Consonance has no contract {contract_id} to write back to.",
                service="Consonance",
                retryable=False,
            )
        return contract

    @staticmethod
    def _marker(item: OutboxItem) -> str:
        return f"[{item.external_id}]"

    def _done(self, item: OutboxItem, contract: dict[str, Any]) -> bool:
        check = item.payload.get("check", {})
        if "append_description" in check:
            return self._marker(item) in str(contract.get("description") or "")
        rows = contract.get(check.get("collection", "")) or []
        for row in rows:
            if isinstance(row, dict) and row.get("id") == check.get("id"):
                return str(row.get(check.get("field", "")) or "") == str(check.get("value"))
        return False

    def reconcile(self, item: OutboxItem) -> dict[str, Any] | None:
        client = self.client_factory()
        contract = self._contract(client, int(item.payload["contract_id"]))
        if self._done(item, contract):
            return {"reconciled": True, "contract": contract.get("id")}
        return None

    def send(self, item: OutboxItem) -> SendResult:
        client = self.client_factory()
        mutation = item.payload["mutation"]
        input_ = dict(item.payload["input"])
        input_["clientMutationId"] = item.external_id
        if mutation == M.UPDATE_CONTRACT:
            return self._append_to_contract(client, item, input_)
        payload = client.mutate(OPERATIONS[mutation], input_)
        return SendResult(
            result={"clientMutationId": payload.get("clientMutationId"), "mutation": mutation},
            status_code=200,
            request_summary={"mutation": mutation, "input": input_},
        )

    def _append_to_contract(
        self, client: Any, item: OutboxItem, input_: dict[str, Any]
    ) -> SendResult:
        """Read the description, append one marked line, write it whole. ``updateContract`` sets
        the description; Consonance documents no append and no compare-and-set, so two workers
        appending to the same contract at once would each write the description they read and
        one line would be lost (the fault suite found exactly that with two workers on
        PostgreSQL). Appends to one contract are therefore serialised: the mirror's contract
        row is locked (``SELECT … FOR UPDATE``) from the read to the write; a worker killed in
        between drops its connection and with it the lock. SQLite has no row locks (and a
        transaction held open over the HTTP call would only block other writers); there no
        lock is taken, and the database's single writer and django-q's one cluster keep workers
        in turn.

        Not covered: an edit made in Consonance itself between our read and our write is
        overwritten by the description we read (the API offers nothing to detect it)."""
        contract_id = int(item.payload["contract_id"])
        mutation = M.UPDATE_CONTRACT
        serialised = connection.features.has_select_for_update
        with transaction.atomic() if serialised else nullcontext():
            if serialised:
                list(
                    Contract.objects.select_for_update()
                    .filter(consonance_id=contract_id)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
            contract = self._contract(client, contract_id)
            current = str(contract.get("description") or "")
            if self._marker(item) in current:
                return SendResult(
                    result={"reconciled": True}, request_summary={"mutation": mutation}
                )
            line = f"{item.payload['check']['append_description']} {self._marker(item)}"
            input_["description"] = f"{current}\n{line}".strip()
            payload = client.mutate(OPERATIONS[mutation], input_)
        return SendResult(
            result={"clientMutationId": payload.get("clientMutationId"), "mutation": mutation},
            status_code=200,
            request_summary={"mutation": mutation, "input": input_},
        )

    def _record(self, item: OutboxItem) -> WritebackRecord | None:
        return WritebackRecord.objects.filter(pk=item.payload.get("record")).first()

    def on_success(self, item: OutboxItem, result: dict[str, Any]) -> None:
        record = self._record(item)
        if record is not None:
            record.status = WritebackRecord.Status.WRITTEN
            record.result = result
            record.reason = ""
            record.save()

    def on_dead(self, item: OutboxItem, reason: str) -> None:
        record = self._record(item)
        if record is not None:
            record.status = WritebackRecord.Status.FAILED
            record.reason = reason
            record.save()

    def on_cancel(self, item: OutboxItem) -> None:
        record = self._record(item)
        if record is not None:
            record.status = WritebackRecord.Status.CANCELLED
            record.save()


HANDLER = ConsonanceWritebackHandler()


def writeback_rule_set(
    *, actor: Actor, imprint_id: int, event_kind: str, mutation: str = "", enabled: bool = True
) -> WritebackRule:
    """Create or change an imprint's rule for one event kind (imprint admins)."""
    policy.require(actor, policy.Action.CONFIGURE, imprint_id)
    if event_kind not in ALLOWED_MUTATIONS:
        raise ValidationError({"event_kind": f"Unknown event kind {event_kind!r}."})
    mutation = mutation or DEFAULT_MUTATION[event_kind]
    if mutation not in ALLOWED_MUTATIONS[event_kind]:
        allowed = ", ".join(sorted(ALLOWED_MUTATIONS[event_kind]))
        raise ValidationError({"mutation": f"Use {allowed} for this event."})
    with transaction.atomic():
        rule, _ = WritebackRule.objects.update_or_create(
            imprint_id=imprint_id,
            event_kind=event_kind,
            defaults={"mutation": mutation, "enabled": enabled, "updated_by": actor},
        )
        log_action(
            actor=actor,
            verb="writeback.rule_set",
            target=rule,
            imprint=imprint_id,
            data={"event": event_kind, "mutation": mutation, "enabled": enabled},
        )
    return rule
