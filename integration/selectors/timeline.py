"""The per-title correspondence timeline: one list, newest first, merged from

* communications about the work (created), their approvals and every message event;
* the work's change events (what triggered them);
* audit rows tied to the work (people's actions: responses recorded, reminders drafted …);
* write-back records and every write-back attempt (outbox attempts of kind
  ``consonance_writeback``).

Paging is a keyset on (at, kind, id), newest first: each source is asked for at most ``limit + 1``
rows after the cursor, ordered the same way, and the rows are merged in Python. So a page costs
one query per source however many events the title has. The cursor is opaque in the URL and says
which way it reads: "older" (the entries after it, the default, and the only kind cursors written
before "newer" existed carry) or "newer" (the page just before it). Message events carry the
work they are about (``MessageEvent.work``), and the page is one range of the index
(work, occurred_at DESC, id DESC), so a deep page costs what the first one does.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db.models import Count, Q, QuerySet, Subquery
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts import policy
from accounts.models import AuditEvent
from accounts.wording import change_sentence, verb_sentence
from integration.models import (
    Approval,
    ChangeEvent,
    Communication,
    Message,
    MessageEvent,
    OutboxAttempt,
    OutboxItem,
    Work,
    WritebackRecord,
)
from integration.selectors.communications import FAILED_MESSAGE_STATUSES

# Audit verbs shown elsewhere on the timeline: write-backs (records and attempts), and the
# creation and decisions of communications (their own rows, with the same facts).
HIDDEN_AUDIT_PREFIXES = ("writeback.", "outbox.dead_letter")
HIDDEN_AUDIT_VERBS = (
    "communication.created",
    "communication.approved",
    "communication.auto_approved",
    "communication.rejected",
)

SOURCE_LABELS: dict[str, str] = dict(MessageEvent.Source.choices)

KINDS = {
    "approval": "Approval",
    "audit": "Activity",
    "change": "Change in Consonance",
    "communication": "Communication",
    "message": "Message status",
    "writeback": "Write-back",
    "writeback_attempt": "Write-back attempt",
}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime.datetime
    kind: str
    id: int
    title: str
    detail: str = ""
    status: str = ""
    channel: str = ""
    recipient: str = ""
    link: str = ""
    type: str = ""

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def sort_key(self) -> tuple[datetime.datetime, str, int]:
        return (self.at, self.kind, self.id)


@dataclass
class TimelineFilters:
    type: str = ""  # communication type code
    status: str = ""
    channel: str = ""
    recipient: str = ""
    kind: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def active(self) -> bool:
        return any(
            [
                self.type,
                self.status,
                self.channel,
                self.recipient,
                self.kind,
                self.date_from,
                self.date_to,
            ]
        )


@dataclass
class TimelinePage:
    entries: list[TimelineEntry] = field(default_factory=list)
    next_cursor: str = ""  # the older entries after this page
    prev_cursor: str = ""  # the newer entries before this page ("" on the newest page)

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_prev(self) -> bool:
        return bool(self.prev_cursor)


OLDER, NEWER = "o", "n"
Position = tuple[datetime.datetime, str, int]


def encode_cursor(entry: TimelineEntry, direction: str = OLDER) -> str:
    """An opaque cursor: the entries older than ``entry`` (or, with NEWER, newer than it)."""
    raw = f"{direction}|{entry.at.isoformat()}|{entry.kind}|{entry.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor_direction(cursor: str) -> tuple[str, Position] | None:
    """(direction, position) of a cursor, or None if it is empty or not one of ours. Cursors
    written before "newer" existed (``at|kind|id``) still read as "older"."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("|")
        direction = OLDER
        if len(parts) == 4 and parts[0] in (OLDER, NEWER):
            direction = parts.pop(0)
        at, kind, ident = parts
        parsed = datetime.datetime.fromisoformat(at)
        if timezone.is_naive(parsed) or kind not in KINDS:
            return None
        return direction, (parsed, kind, int(ident))
    except (ValueError, UnicodeDecodeError):
        return None


def decode_cursor(cursor: str) -> Position | None:
    found = decode_cursor_direction(cursor)
    return found[1] if found else None


@cache
def _url(name: str) -> bool:
    try:
        reverse(name, args=[1])
    except NoReverseMatch:
        return False
    return True


def communication_link(pk: int | None) -> str:
    if pk and _url("communications:detail"):
        return reverse("communications:detail", args=[pk])
    return ""


def _after(kind: str, at_field: str, cursor: Position | None) -> Q:
    """Rows strictly after the cursor in (at, kind, id) descending order (older ones). The
    ``at <= cursor`` bound is repeated beside the OR so the database reads one index range."""
    if cursor is None:
        return Q()
    c_at, c_kind, c_id = cursor
    if kind < c_kind:
        return Q(**{f"{at_field}__lte": c_at})
    if kind > c_kind:
        return Q(**{f"{at_field}__lt": c_at})
    return Q(**{f"{at_field}__lte": c_at}) & (
        Q(**{f"{at_field}__lt": c_at}) | Q(**{at_field: c_at, "pk__lt": c_id})
    )


def _before(kind: str, at_field: str, cursor: Position) -> Q:
    """Rows strictly before the cursor in (at, kind, id) descending order (newer ones)."""
    c_at, c_kind, c_id = cursor
    if kind > c_kind:
        return Q(**{f"{at_field}__gte": c_at})
    if kind < c_kind:
        return Q(**{f"{at_field}__gt": c_at})
    return Q(**{f"{at_field}__gte": c_at}) & (
        Q(**{f"{at_field}__gt": c_at}) | Q(**{at_field: c_at, "pk__gt": c_id})
    )


def _dates(qs: QuerySet[Any], at_field: str, filters: TimelineFilters) -> QuerySet[Any]:
    tz = timezone.get_current_timezone()
    if filters.date_from:
        start = datetime.datetime.combine(filters.date_from, datetime.time.min, tzinfo=tz)
        qs = qs.filter(**{f"{at_field}__gte": start})
    if filters.date_to:
        end = datetime.datetime.combine(
            filters.date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        qs = qs.filter(**{f"{at_field}__lt": end})
    return qs


Source = Callable[[Work, TimelineFilters], tuple[QuerySet[Any], str] | None]


def _communications(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.recipient:
        return None
    qs = Communication.objects.filter(work=work).select_related(
        "communication_type", "change_event", "created_by"
    )
    if f.type:
        qs = qs.filter(communication_type__code=f.type)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(channels__icontains=f'"{f.channel}"')
    return qs, "created_at"


def _approvals(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.recipient or f.channel:
        return None
    qs = Approval.objects.filter(communication__work=work).select_related(
        "communication__communication_type", "decided_by"
    )
    if f.type:
        qs = qs.filter(communication__communication_type__code=f.type)
    if f.status:
        qs = qs.filter(decision=f.status)
    return qs, "created_at"


def _messages(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    # work_id is written with every event (see MessageEvent.work): one index range, no join
    # to filter. Orphans (no message) have no work and never show here.
    qs = MessageEvent.objects.filter(work_id=work.pk).select_related(
        "message__communication__communication_type", "recorded_by"
    )
    if f.type:
        qs = qs.filter(message__communication__communication_type__code=f.type)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.channel:
        qs = qs.filter(message__channel=f.channel)
    if f.recipient:
        qs = qs.filter(
            Q(message__recipient_name__icontains=f.recipient)
            | Q(message__recipient_email__icontains=f.recipient)
        )
    return qs, "occurred_at"


def _changes(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.type or f.status or f.channel or f.recipient:
        return None
    return ChangeEvent.objects.filter(work=work), "created_at"


def _audit(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.type or f.status or f.channel or f.recipient:
        return None
    qs = AuditEvent.objects.filter(work_id=work.pk)
    for prefix in HIDDEN_AUDIT_PREFIXES:
        qs = qs.exclude(verb__startswith=prefix)
    qs = qs.exclude(verb__in=HIDDEN_AUDIT_VERBS)
    return qs, "created_at"


def _writebacks(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.type or f.channel or f.recipient:
        return None
    qs = WritebackRecord.objects.filter(work=work)
    if f.status:
        qs = qs.filter(status=f.status)
    return qs, "created_at"


def _attempts(work: Work, f: TimelineFilters) -> tuple[QuerySet[Any], str] | None:
    if f.type or f.channel or f.recipient:
        return None
    qs = OutboxAttempt.objects.filter(
        item__work_id=work.pk, item__kind=OutboxItem.Kind.CONSONANCE_WRITEBACK
    ).select_related("item")
    if f.status:
        qs = qs.filter(outcome=f.status)
    return qs, "started_at"


def _change_words(event: ChangeEvent) -> str:
    """ "Price changed — price changed from 16.99 to 17.99": the kind, then the change in
    words, never the event's repr."""
    label = str(event.get_kind_display())
    if not event.field:
        return label
    return f"{label} — {change_sentence(event.field, event.old_value, event.new_value)}"


def _entry(kind: str, row: Any) -> TimelineEntry:
    if kind == "communication":
        return TimelineEntry(
            at=row.created_at,
            kind=kind,
            id=row.pk,
            title=f"{row.communication_type.name} drafted: {row.name}",
            detail=" — ".join(
                x
                for x in (
                    f"Triggered by: {_change_words(row.change_event)}" if row.change_event else "",
                    f"by {row.created_by}" if row.created_by else "",
                    row.void_reason or row.rejection_comment,
                )
                if x
            ),
            status=row.status,
            channel=", ".join(row.channels or []),
            link=communication_link(row.pk),
            type=row.communication_type.code,
        )
    if kind == "approval":
        who = str(row.decided_by) if row.decided_by else "system"
        return TimelineEntry(
            at=row.created_at,
            kind=kind,
            id=row.pk,
            title=f"{row.get_decision_display()} by {who}: {row.communication.name}",
            detail=row.comment,
            status=row.decision,
            link=communication_link(row.communication_id),
            type=row.communication.communication_type.code,
        )
    if kind == "message":
        message = row.message
        recipient = message.recipient_name or message.recipient_email
        note = str((row.detail or {}).get("note", ""))
        by = f" by {row.recorded_by}" if row.recorded_by else ""
        source = SOURCE_LABELS.get(row.source, row.source)
        return TimelineEntry(
            at=row.occurred_at,
            kind=kind,
            id=row.pk,
            title=f"{row.get_status_display()}: {message.communication.name}",
            detail=f"{source}{by}"
            + (f" — {note}" if note else "")
            + ("" if row.applied else " (history; status already further on)"),
            status=row.status,
            channel=message.channel,
            recipient=recipient,
            link=communication_link(message.communication_id),
            type=message.communication.communication_type.code,
        )
    if kind == "change":
        return TimelineEntry(
            at=row.created_at,
            kind=kind,
            id=row.pk,
            title=row.get_kind_display(),
            detail=change_sentence(row.field, row.old_value, row.new_value) if row.field else "",
        )
    if kind == "audit":
        return TimelineEntry(
            at=row.created_at,
            kind=kind,
            id=row.pk,
            title=verb_sentence(row.verb),
            detail=f"{row.actor_label} · {row.target_label}".strip(" ·"),
            link=(
                communication_link(int(row.target_id))
                if row.target_type == "integration.communication" and row.target_id.isdigit()
                else ""
            ),
        )
    if kind == "writeback":
        return TimelineEntry(
            at=row.created_at,
            kind=kind,
            id=row.pk,
            title=f"{row.get_event_kind_display()}: {row.get_status_display()}",
            detail=" — ".join(x for x in (row.summary, row.mutation, row.reason) if x),
            status=row.status,
        )
    mutation = str((row.item.payload or {}).get("mutation", ""))
    return TimelineEntry(
        at=row.started_at,
        kind=kind,
        id=row.pk,
        title=f"Consonance {mutation} attempt {row.number}: {row.get_outcome_display()}",
        detail=row.error or row.item.external_id,
        status=row.outcome,
    )


SOURCES: dict[str, Source] = {
    "approval": _approvals,
    "audit": _audit,
    "change": _changes,
    "communication": _communications,
    "message": _messages,
    "writeback": _writebacks,
    "writeback_attempt": _attempts,
}


def title_timeline(
    *,
    user: Any,
    work: Work,
    filters: TimelineFilters | None = None,
    cursor: str = "",
    limit: int | None = 50,
) -> TimelinePage:
    """One page of the title's timeline, newest first. ``limit=None`` returns everything
    (for exports). ``cursor`` is one of a page's ``next_cursor`` (older entries) or
    ``prev_cursor`` (newer ones); a cursor that is not ours reads as no cursor (the newest
    page). Raises PermissionDenied unless the user may view the work's imprint."""
    policy.require(user, policy.Action.VIEW, work)
    filters = filters or TimelineFilters()
    decoded = decode_cursor_direction(cursor)
    if decoded is not None and decoded[0] == NEWER and limit is not None:
        newer = _newer_page(work, filters, decoded[1], limit)
        if newer.entries:
            return newer
        decoded = None  # nothing newer any more (e.g. the entry was deleted): the newest page
    after = decoded[1] if decoded else None
    entries: list[TimelineEntry] = []
    for kind, qs, at_field in _sources(work, filters):
        qs = qs.filter(_after(kind, at_field, after))
        order = (f"-{at_field}", "-pk")
        if limit is not None:
            qs = _limited(qs, order, limit + 1)
        entries.extend(_entry(kind, row) for row in qs.order_by(*order))
    entries.sort(key=TimelineEntry.sort_key, reverse=True)
    prev_cursor = encode_cursor(entries[0], NEWER) if after is not None and entries else ""
    if limit is None or len(entries) <= limit:
        return TimelinePage(entries=entries, prev_cursor=prev_cursor)
    page = entries[:limit]
    return TimelinePage(entries=page, next_cursor=encode_cursor(page[-1]), prev_cursor=prev_cursor)


def _limited(qs: QuerySet[Any], order: tuple[str, str], n: int) -> QuerySet[Any]:
    """The first ``n`` rows of ``qs`` in ``order``, picked by their ids alone before any
    select_related join: ``WHERE id IN (SELECT id … ORDER BY … LIMIT n)``. The inner query is
    one range of the source's (title, time, id) index; the joins then touch ``n`` rows. Asked
    in one statement with the joins, PostgreSQL may join every event of the title before it
    sorts (it does when its statistics lag behind a bulk insert: 20,000 rows joined for 51)."""
    ids = qs.order_by(*order).values("pk")[:n]
    return qs.model._default_manager.filter(pk__in=Subquery(ids)).select_related(*_related(qs))


def _related(qs: QuerySet[Any]) -> list[str]:
    """The select_related paths of ``qs`` (Django keeps them as a nested dict)."""
    found: list[str] = []

    def walk(tree: dict[str, Any], prefix: str) -> None:
        for name, sub in tree.items():
            path = f"{prefix}{name}"
            if sub:
                walk(sub, f"{path}__")
            else:
                found.append(path)

    if isinstance(qs.query.select_related, dict):
        walk(qs.query.select_related, "")
    return found


def _sources(work: Work, filters: TimelineFilters) -> list[tuple[str, QuerySet[Any], str]]:
    found = []
    for kind, source in SOURCES.items():
        if filters.kind and filters.kind != kind:
            continue
        got = source(work, filters)
        if got is not None:
            qs, at_field = got
            found.append((kind, _dates(qs, at_field, filters), at_field))
    return found


def _newer_page(work: Work, filters: TimelineFilters, before: Position, limit: int) -> TimelinePage:
    """The ``limit`` entries just newer than ``before``, newest first: each source read
    oldest first from the cursor (the same index, backwards), merged, the nearest kept."""
    entries: list[TimelineEntry] = []
    for kind, qs, at_field in _sources(work, filters):
        order = (at_field, "pk")
        qs = _limited(qs.filter(_before(kind, at_field, before)), order, limit + 1)
        entries.extend(_entry(kind, row) for row in qs.order_by(*order))
    entries.sort(key=TimelineEntry.sort_key)
    more = len(entries) > limit
    page = list(reversed(entries[:limit]))
    if not page:
        return TimelinePage()
    return TimelinePage(
        entries=page,
        next_cursor=encode_cursor(page[-1]),
        prev_cursor=encode_cursor(page[0], NEWER) if more else "",
    )


def timeline_filters_from(params: Any) -> tuple[TimelineFilters, dict[str, str]]:
    """Parse query parameters; returns the filters and any errors per field."""
    errors: dict[str, str] = {}
    dates: dict[str, datetime.date | None] = {}
    for name in ("date_from", "date_to"):
        text = (params.get(name) or "").strip()
        dates[name] = None
        if text:
            try:
                dates[name] = datetime.date.fromisoformat(text)
            except ValueError:
                errors[name] = f"'{text}' is not a date (use YYYY-MM-DD)."
    kind = (params.get("kind") or "").strip()
    if kind and kind not in KINDS:
        errors["kind"] = f"Unknown kind; use one of {', '.join(KINDS)}."
        kind = ""
    return (
        TimelineFilters(
            type=(params.get("type") or "").strip()[:60],
            status=(params.get("status") or "").strip()[:30],
            channel=(params.get("channel") or "").strip()[:10],
            recipient=(params.get("recipient") or "").strip()[:100],
            kind=kind,
            date_from=dates["date_from"],
            date_to=dates["date_to"],
        ),
        errors,
    )


@dataclass
class CommunicationOutcome:
    """One communication about a title with what happened to its messages."""

    communication: Communication
    counts: list[tuple[str, int]]  # (status label, messages), most common first
    failed: int
    failures: list[Any]  # failed messages (recipient, channel, reason), the first few


def title_communication_outcomes(
    *, user: Any, work: Work, limit: int = 20, failures_per: int = 10
) -> list[CommunicationOutcome]:
    """The title's communications, newest first, each with its per-status message counts and
    the recipients it failed for (with the reason). Three queries whatever the size."""
    policy.require(user, policy.Action.VIEW, work)
    communications = list(
        policy.for_user(user, Communication.objects.filter(work=work))
        .select_related("communication_type")
        .order_by("-created_at", "-id")[:limit]
    )
    ids = [c.pk for c in communications]
    labels = dict(Message.Status.choices)
    counts: dict[int, list[tuple[str, int]]] = {pk: [] for pk in ids}
    rows = (
        Message.objects.filter(communication_id__in=ids)
        .values("communication_id", "status")
        .annotate(n=Count("id"))
        .order_by("communication_id", "-n")
    )
    for row in rows:
        counts[row["communication_id"]].append((labels.get(row["status"], row["status"]), row["n"]))
    failures: dict[int, list[Any]] = {pk: [] for pk in ids}
    failed_total: dict[int, int] = {pk: 0 for pk in ids}
    for row in (
        Message.objects.filter(communication_id__in=ids, status__in=FAILED_MESSAGE_STATUSES)
        .values("communication_id")
        .annotate(n=Count("id"))
    ):
        failed_total[row["communication_id"]] = row["n"]
    wanted = [pk for pk in ids if failed_total[pk]]
    if wanted:
        for m in Message.objects.filter(
            communication_id__in=wanted, status__in=FAILED_MESSAGE_STATUSES
        ).order_by("communication_id", "sequence")[: failures_per * len(wanted)]:
            if len(failures[m.communication_id]) < failures_per:
                failures[m.communication_id].append(m)
    outcomes = []
    for c in communications:
        c.failed_messages = failed_total[c.pk]  # type: ignore[attr-defined]
        outcomes.append(
            CommunicationOutcome(
                communication=c,
                counts=counts[c.pk],
                failed=failed_total[c.pk],
                failures=failures[c.pk],
            )
        )
    return outcomes
