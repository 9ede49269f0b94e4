"""Reads for message status, outstanding contributor actions and customer-service reports."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts import policy
from integration.models import (
    Communication,
    ContributorAction,
    CustomerServiceOutcome,
    Message,
    MessageEvent,
    WritebackRecord,
)
from integration.models.status import REMINDER_KEY, UNDELIVERABLE

MS = Message.Status
A = ContributorAction.State
REACHED = frozenset({MS.DELIVERED, MS.OPENED, MS.RESPONDED})
PENDING = frozenset({MS.GENERATED, MS.SUBMITTED})

# --- delivery stats ------------------------------------------------------------------------


@dataclass
class DeliveryStats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def _sum(self, statuses: frozenset[str]) -> int:
        return sum(n for s, n in self.by_status.items() if s in statuses)

    @property
    def reached(self) -> int:
        """Delivered, opened or responded."""
        return self._sum(REACHED)

    @property
    def undeliverable(self) -> int:
        return self._sum(UNDELIVERABLE)

    @property
    def failed(self) -> int:
        return self.by_status.get(MS.FAILED, 0)

    @property
    def pending(self) -> int:
        return self._sum(PENDING)

    @property
    def settled(self) -> bool:
        """Every message reached the recipient, failed, or is known undeliverable."""
        return self.total > 0 and self.pending == 0


def delivery_stats_for(*, communication_ids: list[int]) -> dict[int, DeliveryStats]:
    """Per communication: message counts per status (one query for any number)."""
    stats: dict[int, DeliveryStats] = {pk: DeliveryStats() for pk in communication_ids}
    rows = (
        Message.objects.filter(communication_id__in=communication_ids)
        .order_by()
        .values("communication_id", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        entry = stats[row["communication_id"]]
        entry.by_status[row["status"]] = row["n"]
        entry.total += row["n"]
    return stats


def communication_delivery_stats(*, communication: Communication) -> DeliveryStats:
    return delivery_stats_for(communication_ids=[communication.pk])[communication.pk]


def orphan_message_events(*, user: Any) -> QuerySet[MessageEvent]:
    """Events whose key matched no message, for operators (imprint admins, superusers). They
    carry no imprint, only the key, the status and the source."""
    qs = MessageEvent.objects.filter(message__isnull=True).order_by("-recorded_at", "-id")
    if user.is_superuser or policy.imprint_ids_for(user, policy.Action.OPERATE):
        return qs
    return qs.none()


def writeback_records_for(*, user: Any) -> QuerySet[WritebackRecord]:
    return policy.for_user(user, WritebackRecord.objects.select_related("work")).order_by(
        "-created_at", "-id"
    )


# --- contributor actions -------------------------------------------------------------------


def contributor_actions_for(
    *,
    user: Any,
    imprint_id: int | None = None,
    owner_id: int | None = None,
    state: str = "",
    due_before: datetime.date | None = None,
    due_after: datetime.date | None = None,
    work_id: int | None = None,
    open_only: bool = False,
    today: datetime.date | None = None,
) -> QuerySet[ContributorAction]:
    """Actions in the user's imprints, most urgent first: overdue (longest overdue first),
    undeliverable, awaiting (soonest due first), responded."""
    today = today or timezone.localdate()
    qs = policy.for_user(
        user,
        ContributorAction.objects.select_related(
            "work",
            "owner",
            "communication__communication_type",
            "message",
            "imprint",
            "reminder",
        ),
        # A reminder belongs to the action it chases and opens none; an action opened for
        # a reminder's own message before that was so would be a second row for one request.
    ).exclude(communication__campaign__has_key=REMINDER_KEY)
    if imprint_id:
        qs = qs.filter(imprint_id=imprint_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if work_id:
        qs = qs.filter(work_id=work_id)
    if state == A.OVERDUE:
        qs = qs.filter(state=A.AWAITING, due_on__lt=today)
    elif state == A.AWAITING:
        qs = qs.filter(state=A.AWAITING, due_on__gte=today)
    elif state:
        qs = qs.filter(state=state)
    elif open_only:
        qs = qs.filter(state__in=[A.AWAITING, A.UNDELIVERABLE])
    if due_before:
        qs = qs.filter(due_on__lte=due_before)
    if due_after:
        qs = qs.filter(due_on__gte=due_after)
    return qs.annotate(
        urgency=Case(
            When(Q(state=A.AWAITING, due_on__lt=today), then=Value(0)),
            When(state=A.UNDELIVERABLE, then=Value(1)),
            When(state=A.AWAITING, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
    ).order_by("urgency", "due_on", "id")


# --- customer-service report ---------------------------------------------------------------


@dataclass
class ReportRow:
    work_id: int | None
    title: str
    issue_type: str
    issue_label: str
    counts: list[int]
    total: int
    # The latest case references behind the row (at most CASES_SHOWN), newest first.
    case_references: list[str] = field(default_factory=list)

    @property
    def recurring(self) -> bool:
        return self.total >= 2


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    month_labels: list[tuple[float, str]]
    max_value: int
    baseline: float
    legend: list[tuple[str, str]]


@dataclass
class CustomerServiceReport:
    months: list[datetime.date]
    rows: list[ReportRow]
    month_totals: dict[str, list[int]]  # issue type -> count per month
    total: int
    chart: Chart


def _month(value: datetime.date | datetime.datetime) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _month_range(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = (current.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return months


def customer_service_outcomes_for(
    *,
    user: Any,
    imprint_id: int | None = None,
    issue_type: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    work_id: int | None = None,
) -> QuerySet[CustomerServiceOutcome]:
    qs = policy.for_user(user, CustomerServiceOutcome.objects.select_related("work"))
    if imprint_id:
        qs = qs.filter(imprint_id=imprint_id)
    if issue_type:
        qs = qs.filter(issue_type=issue_type)
    if work_id:
        qs = qs.filter(work_id=work_id)
    tz = timezone.get_current_timezone()
    if date_from:
        qs = qs.filter(
            occurred_at__gte=datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
        )
    if date_to:
        end = date_to + datetime.timedelta(days=1)
        qs = qs.filter(occurred_at__lt=datetime.datetime.combine(end, datetime.time.min, tzinfo=tz))
    return qs


ISSUE_CSS: dict[str, str] = {
    CustomerServiceOutcome.IssueType.DELAY: "bar-delay",
    CustomerServiceOutcome.IssueType.OUT_OF_STOCK: "bar-stock",
    CustomerServiceOutcome.IssueType.FORMAT_SUBSTITUTION: "bar-format",
    CustomerServiceOutcome.IssueType.REVISED_DATE: "bar-revised",
}


CASES_SHOWN = 5


def customer_service_report(
    *,
    user: Any,
    imprint_id: int | None = None,
    issue_type: str = "",
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> CustomerServiceReport:
    """Outcomes per title and issue type per month (one grouped query), with a stacked bar
    chart of all outcomes per month by issue type."""
    qs = customer_service_outcomes_for(
        user=user,
        imprint_id=imprint_id,
        issue_type=issue_type,
        date_from=date_from,
        date_to=date_to,
    )
    grouped = list(
        qs.annotate(month=TruncMonth("occurred_at"))
        .order_by()
        .values("work_id", "work__title", "issue_type", "month")
        .annotate(n=Count("id"))
    )
    labels: dict[str, str] = dict(CustomerServiceOutcome.IssueType.choices)
    if not grouped:
        empty = Chart(640, 260, [], [], 0, 220.0, [(c, labels[i]) for i, c in ISSUE_CSS.items()])
        return CustomerServiceReport([], [], {}, 0, empty)
    months_seen = [_month(g["month"]) for g in grouped]
    first = _month(date_from) if date_from else min(months_seen)
    last = _month(date_to) if date_to else max(months_seen)
    months = _month_range(min(first, min(months_seen)), max(last, max(months_seen)))
    index = {m: i for i, m in enumerate(months)}
    table: dict[tuple[int | None, str], list[int]] = {}
    titles: dict[int | None, str] = {}
    per_issue: dict[str, list[int]] = defaultdict(lambda: [0] * len(months))
    for g in grouped:
        key = (g["work_id"], g["issue_type"])
        counts = table.setdefault(key, [0] * len(months))
        i = index[_month(g["month"])]
        counts[i] += g["n"]
        per_issue[g["issue_type"]][i] += g["n"]
        titles[g["work_id"]] = g["work__title"] or "Unknown title (ISBN not in the catalogue)"
    rows = [
        ReportRow(
            work_id=work_id,
            title=titles[work_id],
            issue_type=issue,
            issue_label=labels.get(issue, issue),
            counts=counts,
            total=sum(counts),
        )
        for (work_id, issue), counts in table.items()
    ]
    rows.sort(key=lambda r: (-r.total, r.title, r.issue_type))
    cases: dict[tuple[int | None, str], list[str]] = defaultdict(list)
    for work_id, issue, case in (
        qs.order_by("-occurred_at", "-id")
        .values_list("work_id", "issue_type", "case_reference")
        .iterator()
    ):
        shown = cases[(work_id, issue)]
        if case and case not in shown and len(shown) < CASES_SHOWN:
            shown.append(case)
    for row in rows:
        row.case_references = cases.get((row.work_id, row.issue_type), [])
    month_totals: dict[str, list[int]] = {
        issue: per_issue[issue] for issue in ISSUE_CSS if issue in per_issue
    }
    total = sum(r.total for r in rows)
    return CustomerServiceReport(months, rows, month_totals, total, _chart(months, month_totals))


def _chart(months: list[datetime.date], month_totals: dict[str, list[int]]) -> Chart:
    width, height, left, bottom, top = 640, 260, 40.0, 220.0, 20.0
    stacks = [sum(v[i] for v in month_totals.values()) for i in range(len(months))]
    peak = max(stacks) if stacks else 0
    scale = (bottom - top) / peak if peak else 0.0
    slot = (width - left - 10) / max(len(months), 1)
    bar_width = max(min(slot * 0.7, 60.0), 4.0)
    labels: dict[str, str] = dict(CustomerServiceOutcome.IssueType.choices)
    bars: list[Bar] = []
    month_labels: list[tuple[float, str]] = []
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar_width) / 2
        y = bottom
        for issue, counts in month_totals.items():
            n = counts[i]
            if not n:
                continue
            h = n * scale
            y -= h
            bars.append(
                Bar(
                    x=round(x, 1),
                    y=round(y, 1),
                    width=round(bar_width, 1),
                    height=round(h, 1),
                    css=ISSUE_CSS.get(issue, "bar-other"),
                    label=f"{month:%b %Y}: {n} {labels.get(issue, issue).lower()}",
                )
            )
        month_labels.append((round(x + bar_width / 2, 1), f"{month:%b %y}"))
    legend = [(ISSUE_CSS[i], labels[i]) for i in month_totals]
    return Chart(width, height, bars, month_labels, peak, bottom, legend)
