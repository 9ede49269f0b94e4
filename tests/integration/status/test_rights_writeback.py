"""Rights notices (integration/status/rights.py): delivery and answers of a permission letter or
licence renewal become write-back records for the communication's own contract, once each; a
notice with no contract, or with the rule off, is kept in Colophon with the reason."""

from __future__ import annotations

import datetime

import pytest

from integration.models import Message, OutboxItem, WritebackRecord, WritebackRule
from integration.status.apply import StatusInput, message_status_apply
from integration.status.writeback import writeback_rule_set
from tests.factories import (
    CommunicationFactory,
    ContractFactory,
    LicensedRightFactory,
    MessageFactory,
    WorkFactory,
    communication_type,
)

pytestmark = pytest.mark.django_db
S = Message.Status
K = WritebackRule.EventKind
AT = datetime.datetime(2026, 11, 2, 10, tzinfo=datetime.UTC)


def _notice(imprint, code="permission-letter", contract=True):
    work = WorkFactory(imprint=imprint)
    deal = ContractFactory(work=work, imprint=imprint, consonance_id=777) if contract else None
    if deal is not None:
        LicensedRightFactory(contract=deal, right_type="Translation", territory="FR")
    comm = CommunicationFactory(
        imprint=imprint, work=work, contract=deal, communication_type=communication_type(code)
    )
    return MessageFactory(communication=comm, recipient_name="Éditions Marée")


def _apply(message, *statuses):
    message_status_apply(
        events=[
            StatusInput(str(message.key), s, AT, "exstream-runtime", f"e-{message.pk}-{s}", d)
            for s, d in statuses
        ]
    )


def test_delivery_and_answer_queue_update_contract_for_that_contract(imprint_a, admin_a):
    for kind in (K.RIGHTS_NOTICE_DELIVERED, K.RIGHTS_RESPONSE_RECORDED):
        writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=kind)
    message = _notice(imprint_a)
    _apply(message, (S.SUBMITTED, {}), (S.DELIVERED, {}))
    _apply(message, (S.RESPONDED, {"note": "Granted"}))
    _apply(message, (S.RESPONDED, {"note": "Granted"}))  # again: nothing new
    records = WritebackRecord.objects.order_by("pk")
    assert [r.event_kind for r in records] == [
        K.RIGHTS_NOTICE_DELIVERED,
        K.RIGHTS_RESPONSE_RECORDED,
    ]
    assert {r.status for r in records} == {WritebackRecord.Status.QUEUED}
    items = OutboxItem.objects.filter(kind=OutboxItem.Kind.CONSONANCE_WRITEBACK)
    assert {i.payload["contract_id"] for i in items} == {777}
    lines = [i.payload["check"]["append_description"] for i in items.order_by("pk")]
    assert "delivered to Éditions Marée" in lines[0] and "Translation (FR)" in lines[0]
    assert "answered permission letter" in lines[1] and "Granted" in lines[1]


def test_without_a_contract_or_a_rule_the_record_is_kept(imprint_a, admin_a):
    no_rule = _notice(imprint_a, code="licence-renewal")
    _apply(no_rule, (S.SUBMITTED, {}), (S.DELIVERED, {}))
    kept = WritebackRecord.objects.get()
    assert kept.status == WritebackRecord.Status.KEPT and "No write-back rule" in kept.reason
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.RIGHTS_NOTICE_DELIVERED)
    no_contract = _notice(imprint_a, contract=False)
    _apply(no_contract, (S.SUBMITTED, {}), (S.DELIVERED, {}))
    record = WritebackRecord.objects.order_by("pk").last()
    assert record.status == WritebackRecord.Status.KEPT and "names no contract" in record.reason
    assert not OutboxItem.objects.exists()


def test_other_types_write_nothing_here(imprint_a, admin_a):
    writeback_rule_set(actor=admin_a, imprint_id=imprint_a.pk, event_kind=K.RIGHTS_NOTICE_DELIVERED)
    message = _notice(imprint_a, code="approval-notice")
    _apply(message, (S.SUBMITTED, {}), (S.DELIVERED, {}))
    assert not WritebackRecord.objects.exists()
