"""After a template, mapping or audience changes, communications that use it are re-checked
(in the background, after commit) so an approval never outlives what it approved."""

from __future__ import annotations

from django.utils import timezone

from integration.lib.queue import enqueue
from integration.models import (
    CommunicationTemplate,
)


def setup_changed(*, kind: str, object_id: int | None) -> None:
    """Hook for the setup services: after commit, re-check communications using the object."""
    if object_id is None:
        return
    if kind == "template":  # a mapping change is a change of its template
        CommunicationTemplate.objects.filter(pk=object_id).update(updated_at=timezone.now())
    enqueue("integration.tasks.communications_revalidate_for_setup", kind, object_id)
