"""Keyset paging of the title timeline both ways: older and newer pages visit every entry once
even when many share one timestamp, the cursor is opaque (a cursor that is not ours reads as
the newest page, one written before "newer" existed still works), and nobody pages through a
title of an imprint they cannot see."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from integration.models import ChangeEvent, Message
from integration.selectors.timeline import (
    TimelineFilters,
    TimelinePage,
    encode_cursor,
    title_timeline,
)
from integration.status.apply import StatusInput, message_status_apply
from tests.factories import CommunicationFactory, MessageFactory, WorkFactory
from tests.integration.status.conftest import at

pytestmark = pytest.mark.django_db
S = Message.Status


@pytest.fixture
def crowded(proof_communication, work, imprint_a):
    """Eighteen message events and three change events at the very same moment (the
    tie-break on kind and id matters), and a few earlier ones."""
    messages = [MessageFactory.create(communication=proof_communication) for _ in range(6)]
    events = [
        StatusInput(str(m.key), status, at(1), "exstream-runtime", f"{m.pk}-{status}")
        for m in messages
        for status in (S.SUBMITTED, S.DELIVERED, S.OPENED)
    ]
    events += [
        StatusInput(str(m.key), S.RESPONDED, at(-5 - i), "hand", f"{m.pk}-r")
        for i, m in enumerate(messages[:3])
    ]
    message_status_apply(events=events)
    for _ in range(3):
        ChangeEvent.objects.create(kind="price", imprint=imprint_a, work=work, created_at=at(1))
    return messages


def _walk_older(user, work, limit):
    pages: list[TimelinePage] = []
    cursor = ""
    while True:
        page = title_timeline(user=user, work=work, cursor=cursor, limit=limit)
        pages.append(page)
        if not page.has_next:
            return pages
        cursor = page.next_cursor


def _ids(page):
    return [(e.kind, e.id) for e in page.entries]


@pytest.mark.parametrize("limit", [1, 4, 7, 50])
def test_older_then_newer_pages_visit_every_entry_once(crowded, work, project_manager, limit):
    everything = [
        (e.kind, e.id) for e in title_timeline(user=project_manager, work=work, limit=None).entries
    ]
    assert len(everything) == len(set(everything)) >= 18 + 3 + 3 + 1  # + write-backs
    pages = _walk_older(project_manager, work, limit)
    seen = [x for page in pages for x in _ids(page)]
    assert seen == everything  # no duplicates, no gaps, same order
    assert not pages[0].has_prev and all(p.has_prev for p in pages[1:])
    # Back up from the last page with the "newer" cursors: the same pages, in reverse.
    back = [pages[-1]]
    while back[-1].has_prev:
        back.append(
            title_timeline(
                user=project_manager, work=work, cursor=back[-1].prev_cursor, limit=limit
            )
        )
    assert [_ids(p) for p in reversed(back)] == [_ids(p) for p in pages]
    # and "older" from a page reached by "newer" carries on where it should
    if len(back) > 2:
        again = title_timeline(
            user=project_manager, work=work, cursor=back[-2].next_cursor, limit=limit
        )
        assert _ids(again) == _ids(pages[2])


def test_newer_pages_respect_filters(crowded, work, project_manager):
    filters = TimelineFilters(status="opened")
    first = title_timeline(user=project_manager, work=work, filters=filters, limit=4)
    second = title_timeline(
        user=project_manager, work=work, filters=filters, limit=4, cursor=first.next_cursor
    )
    assert {e.status for e in first.entries + second.entries} == {"opened"}
    assert len(first.entries) == 4 and len(second.entries) == 2 and not second.has_next
    back = title_timeline(
        user=project_manager, work=work, filters=filters, limit=4, cursor=second.prev_cursor
    )
    assert _ids(back) == _ids(first) and not back.has_prev


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"2026-11-02T10:00:00|nonsense|1").decode(),  # unknown kind
        base64.urlsafe_b64encode(b"2026-11-02T10:00:00|message|1").decode(),  # naive time
        base64.urlsafe_b64encode(b"x|2026-11-02T10:00:00+00:00|message|1").decode(),
        base64.urlsafe_b64encode(b"o|yesterday|message|1").decode(),
        base64.urlsafe_b64encode(b"o|2026-11-02T10:00:00+00:00|message|one").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_tampered_cursor_reads_as_the_newest_page(
    crowded, work, project_manager, viewer, login, cursor
):
    newest = title_timeline(user=project_manager, work=work, limit=5)
    page = title_timeline(user=project_manager, work=work, cursor=cursor, limit=5)
    assert _ids(page) == _ids(newest) and not page.has_prev
    client = login(viewer)
    screen = client.get(reverse("timeline:title", args=[work.pk]), {"cursor": cursor})
    assert screen.status_code == 200 and "‹ Newer" not in screen.content.decode()
    api = client.get(f"/api/v1/titles/{work.pk}/timeline/", {"cursor": cursor, "page_size": 5})
    assert api.status_code == 200
    assert [(e["kind"], e["title"]) for e in api.json()["results"]] == [
        (e.kind, e.title) for e in newest.entries
    ]
    assert api.json()["previous"] is None


def test_a_cursor_from_before_newer_links_still_pages_older(crowded, work, project_manager):
    first = title_timeline(user=project_manager, work=work, limit=5)
    last = first.entries[-1]
    legacy = (
        base64.urlsafe_b64encode(f"{last.at.isoformat()}|{last.kind}|{last.id}".encode())
        .decode()
        .rstrip("=")
    )
    page = title_timeline(user=project_manager, work=work, cursor=legacy, limit=5)
    assert _ids(page) == _ids(
        title_timeline(user=project_manager, work=work, cursor=first.next_cursor, limit=5)
    )
    assert page.has_prev


def test_screen_links_older_and_newer(crowded, work, viewer, login, monkeypatch):
    monkeypatch.setattr("integration.views.status.TIMELINE_PAGE", 5)
    client = login(viewer)
    url = reverse("timeline:title", args=[work.pk])
    first = client.get(url, {"kind": "message"})
    body = first.content.decode()
    assert "Older ›" in body and "‹ Newer" not in body and "By communication" in body
    older = first.context["timeline"].next_cursor
    second = client.get(url, {"kind": "message", "cursor": older})
    body = second.content.decode()
    assert "‹ Newer" in body and "« Newest" in body and "By communication" not in body
    assert "kind=message&amp;cursor=" in body  # the filters ride along
    back = client.get(url, {"kind": "message", "cursor": second.context["timeline"].prev_cursor})
    assert _ids(back.context["timeline"]) == _ids(first.context["timeline"])
    assert "By communication" in back.content.decode()  # the newest page again


def test_api_previous_and_next_links(crowded, work, viewer, login):
    client = login(viewer)
    first = client.get(f"/api/v1/titles/{work.pk}/timeline/", {"page_size": 10}).json()
    assert first["previous"] is None and first["next"]
    second = client.get(first["next"]).json()
    assert second["previous"] and "page_size=10" in second["previous"]
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"] and back["previous"] is None


def test_other_imprints_title_is_not_found_with_any_cursor(
    crowded, work, outsider, login, project_manager
):
    cursor = title_timeline(user=project_manager, work=work, limit=5).next_cursor
    client = login(outsider)
    assert (
        client.get(reverse("timeline:title", args=[work.pk]), {"cursor": cursor}).status_code == 404
    )
    assert client.get(f"/api/v1/titles/{work.pk}/timeline/", {"cursor": cursor}).status_code == 404


def test_a_cursor_from_another_title_shows_only_this_titles_entries(
    crowded, work, imprint_a, project_manager
):
    other = WorkFactory.create(imprint=imprint_a)
    comm = CommunicationFactory.create(work=other, imprint=imprint_a)
    m = MessageFactory.create(communication=comm)
    message_status_apply(events=[StatusInput(str(m.key), S.DELIVERED, at(2), "csv", "o-1")])
    theirs = [
        e
        for e in title_timeline(user=project_manager, work=other, limit=None).entries
        if e.kind == "message"
    ]
    assert len(theirs) == 1
    page = title_timeline(
        user=project_manager, work=work, cursor=encode_cursor(theirs[0]), limit=50
    )
    ours = {
        e.id
        for e in title_timeline(user=project_manager, work=work, limit=None).entries
        if e.kind == "message"
    }
    mine = {e.id for e in page.entries if e.kind == "message"}
    assert mine and mine <= ours and theirs[0].id not in ours
