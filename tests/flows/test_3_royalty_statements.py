"""Flow 3, royalty statements: contracts and payees arrive by the Consonance sync; the royalty
run arrives as a file. Royalties staff prepare one statement per payee per period — totals
reconcile to the lines in Decimal, rounded per currency; an author of two works gets one
statement; the imprint's rules apply (a minimum payment below which the balance is carried
forward, a withholding rate with its note for the overseas agents' group) — then draft one
royalty-statement communication, preview it, and an imprint admin approves. Each payee's
statement goes by print, e-mail or secure web as they chose; the held print run is released on
the Jobs screen; statuses come back. The next period's statement brings the carried balance
forward and pays it."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from integration.catalogue.royalty_import import royalty_import
from integration.delivery.job_controls import exstream_step_release
from integration.models import (
    Audience,
    Communication,
    Contact,
    Contract,
    ExstreamJob,
    PayeeProfile,
    RoyaltyLine,
    RoyaltyStatement,
    StatementRule,
)
from integration.status.polling import exstream_job_poll
from tests.factories import AudienceFactory
from tests.flows.support_a import (
    S,
    api,
    consonance_synced,
    designs,
    drafted,
    four_eyes,
    message_statuses,
    post,
    previewed,
    statuses_polled,
    template,
    vendors_fixture,  # noqa: F401 (the vendors fixture)
)

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = (
    "payee_contact_id,contract_id,period_start,period_end,isbn,channel,territory,units,"
    "returns,net_receipts,rate,royalty,advance_offset,balance,currency\n"
)


def _row(payee, contract, start, end, balance, currency="GBP", channel="Home trade"):
    isbn = contract.work.products.exclude(isbn13=None).first().isbn13
    return (
        f"{payee.consonance_id},{contract.consonance_id},{start},{end},{isbn},{channel},GB,"
        f"100,2,1000.00,0.0750,{balance},0,{balance},{currency}\n"
    )


def _imported(imprint, user, name, rows):
    record = royalty_import(
        stream=io.BytesIO((HEADER + "".join(rows)).encode()),
        filename=name,
        imprint=imprint,
        actor=user,
    )
    assert record.imported, record.errors
    return record


@pytest.fixture
def royalty_world(vendors, imprint_a, admin_a, royalties, marketing):
    consonance_synced(full=True)
    contracts = list(
        Contract.objects.filter(imprint=imprint_a, work__isnull=False).order_by("id")[:4]
    )
    assert len(contracts) == 4
    people = list(
        Contact.objects.filter(kind=Contact.Kind.PERSON).exclude(emails=[]).order_by("id")[:4]
    )
    author, agent, debut, japan = people
    # royalties staff and the imprint admin configure the statement rules; marketing may not
    rule = {"imprint": imprint_a.pk, "name": "Minimum payment", "currency": "GBP"}
    assert api(marketing).post(
        "/api/v1/statement-rules/", {**rule, "minimum_payment": "50.00"},
        content_type="application/json",
    ).status_code == 403  # fmt: skip
    post(royalties, "/api/v1/statement-rules/", {**rule, "minimum_payment": "50.00"}, status=201)
    post(
        admin_a,
        "/api/v1/statement-rules/",
        {
            "imprint": imprint_a.pk,
            "name": "Overseas withholding",
            "author_group": "Overseas agents",
            "withholding_rate": "0.20",
            "note": "UK basic-rate tax (20%) is withheld from payments to overseas agents.",
        },
        status=201,
    )
    assert StatementRule.objects.count() == 2
    design = designs("Royalty statement")["Royalty statement"]
    template(
        imprint=imprint_a,
        type_code="royalty-statement",
        design=design,
        channels=["print", "email", "web"],
        mappings={
            "recipientName": "recipient.name",
            "recipientEmail": "recipient.email",
            "recipientAddress": "recipient.address",
            "imprintName": "imprint.name",
            "statementPeriod": "statement.period",
            "amountDue": "statement.payable",
            "currency": "statement.currency",
            "statementLines": "statement.lines",
            "amountEarned": "statement.earned",
            "balanceBroughtForward": "statement.brought_forward",
            "amountWithheld": "statement.withheld",
            "balanceCarriedForward": "statement.carried_forward",
            "statementNotes": "statement.notes",
        },
        optional=("statementNotes", "statementLines"),
    )
    payees = AudienceFactory.create(
        imprint=imprint_a, name="Royalty payees", kind=Audience.Kind.ROYALTY_PAYEES
    )
    return {
        "contracts": contracts,
        "author": author,
        "agent": agent,
        "debut": debut,
        "japan": japan,
        "payees": payees,
    }


def test_statements_per_payee_with_rules_channels_and_carry_forward(
    royalty_world, imprint_a, royalties, admin_a, viewer, outsider, login
):
    w = royalty_world
    c1, c2, c3, c4 = w["contracts"]
    h1 = ("2026-01-01", "2026-06-30")
    first = _imported(
        imprint_a,
        royalties,
        "royalties-2026-h1.csv",
        [
            # the author of two works: three lines over two contracts
            _row(w["author"], c1, *h1, "633.77"),
            _row(w["author"], c1, *h1, "120.11", channel="Export"),
            _row(w["author"], c2, *h1, "80.10"),
            _row(w["agent"], c3, *h1, "1000.00"),
            _row(w["debut"], c4, *h1, "12.34"),
            _row(w["debut"], c4, *h1, "20.00", channel="Export"),
            # a Japanese edition paid in yen: no minor unit
            _row(w["japan"], c2, *h1, "1000.40", currency="JPY"),
            _row(w["japan"], c2, *h1, "500.35", currency="JPY", channel="Export"),
        ],
    )
    # the imprint admin sets each payee's channel and author group (payees of the imprint now)
    for contact, channel, group in (
        (w["author"], "email", ""),
        (w["agent"], "web", "Overseas agents"),
        (w["debut"], "print", "Debut authors"),
        (w["japan"], "email", ""),
    ):
        post(
            admin_a,
            "/api/v1/payee-profiles/",
            {"imprint": imprint_a.pk, "contact": contact.pk, "channel": channel,
             "author_group": group},
            status=201,
        )  # fmt: skip
    assert PayeeProfile.objects.count() == 4
    url = f"/api/v1/royalty-imports/{first.pk}/statements/"
    assert api(outsider).post(url).status_code == 404
    assert api(viewer).post(url).status_code == 403
    statements = {s["payee"]: s for s in post(royalties, url, status=201)}
    assert post(royalties, url) and RoyaltyStatement.objects.count() == 4  # prepared once

    # one statement per payee and period; the totals reconcile to the lines
    author = statements[w["author"].name]
    assert author["line_count"] == 3 and len(author["work_ids"]) == 2
    lines = RoyaltyLine.objects.filter(royalty_import=first, payee=w["author"])
    assert Decimal(author["earned"]) == sum(ln.balance for ln in lines) == Decimal("833.98")
    assert Decimal(author["payable"]) == Decimal("833.98") and author["outcome"] == "payable"
    # the overseas agent: 20% withheld, with the rule's note
    agent = statements[w["agent"].name]
    assert Decimal(agent["withheld"]) == Decimal("200.00")
    assert Decimal(agent["payable"]) == Decimal("800.00")
    assert agent["notes"] == [
        "UK basic-rate tax (20%) is withheld from payments to overseas agents."
    ]
    # below the minimum payment: nothing paid, the balance carried forward
    debut = statements[w["debut"].name]
    assert debut["outcome"] == "carried_forward" and Decimal(debut["payable"]) == 0
    assert Decimal(debut["carried_forward"]) == Decimal("32.34")
    assert "below the minimum payment of 50.00 GBP" in debut["notes"][0]
    # yen: summed exactly (1500.75), rounded once to the yen
    japan = statements[w["japan"].name]
    assert japan["currency"] == "JPY" and Decimal(japan["earned"]) == Decimal("1501")
    assert "Minimum payment" not in japan["rules"]  # the minimum is a sterling rule

    # --- the statements as one communication, each by its payee's channel ---------------------
    comm = drafted(
        royalties,
        imprint=imprint_a.pk,
        communication_type="royalty-statement",
        audience=w["payees"].pk,
        royalty_import=first.pk,
        name="Royalty statements H1 2026",
    )
    assert comm.recipient_count == 4 and comm.blocking_count == 0
    by_name = {m.recipient_name: m for m in comm.messages.all()}
    assert by_name[w["author"].name].channel == "email"
    assert by_name[w["agent"].name].channel == "web"
    assert by_name[w["debut"].name].channel == "print"
    agent_data = by_name[w["agent"].name].driver_data
    assert agent_data["amountDue"] == "800.00" and agent_data["amountWithheld"] == "200.00"
    assert by_name[w["japan"].name].driver_data["amountDue"] == "1501"
    author_lines = by_name[w["author"].name].driver_data["statementLines"]
    assert {ln["title"] for ln in author_lines} == {c1.work.title, c2.work.title}
    assert by_name[w["debut"].name].driver_data["balanceCarriedForward"] == "32.34"

    previewed(royalties, comm)
    comm = four_eyes(comm, drafter=royalties, approver=admin_a)
    assert comm.status == S.SENT

    # Exstream holds statement runs for release: an admin releases them on the Jobs screen
    for job in ExstreamJob.objects.filter(external_id__startswith=f"colophon-comm-{comm.pk}-"):
        for _ in range(3):
            exstream_job_poll(job_pk=job.pk)
            job.refresh_from_db()
        held = [s for s in job.flow_steps if s.get("status") == "holding"]
        for step in held:
            exstream_step_release(actor=admin_a, job=job, step_id=str(step["id"]))
    statuses_polled(comm)
    counts = message_statuses(Communication.objects.get(pk=comm.pk))
    assert "submitted" not in counts and "generated" not in counts, counts
    assert counts.get("delivered", 0) + counts.get("opened", 0) >= 3, counts

    # --- the next period: the carried balance comes forward and is paid -----------------------
    second = _imported(
        imprint_a,
        royalties,
        "royalties-2026-h2.csv",
        [_row(w["debut"], c4, "2026-07-01", "2026-12-31", "25.00")],
    )
    later = post(royalties, f"/api/v1/royalty-imports/{second.pk}/statements/", status=201)
    assert len(later) == 1
    assert Decimal(later[0]["brought_forward"]) == Decimal("32.34")
    assert Decimal(later[0]["payable"]) == Decimal("57.34") and later[0]["outcome"] == "payable"
    assert (
        AuditEvent.objects.filter(verb="royalty.statement_prepared", work_id=c4.work_id).count()
        == 2
    )
