"""Telling the rest of Colophon that the catalogue changed: the Consonance sync, the ONIX import
and the royalty import call this inside the transaction that recorded the change events; trigger
rules and revalidation run in the background after it commits."""

from __future__ import annotations

from typing import Any

from integration.lib.queue import enqueue


def notify_catalogue_changed(work_ids: Any) -> None:
    """Call inside the transaction that recorded the change events; runs after it commits."""
    enqueue("integration.tasks.catalogue_changes_recorded", *sorted(set(work_ids)))
