"""Changes in the sandbox Consonance that the demo's flows start from, made as someone editing
titles in Consonance would make them, after Colophon's first sync (so the next sync sees them as
changes and the trigger rules fire):

* the first Harbour Lights title with a forthcoming format (The Northern Orchard in the seeded
  data) is approved (project stage "Approved": flow 4's approval notice), its first forthcoming
  format's publication date slips six weeks and its sterling price rises (flow 4's delay letter,
  flow 7's metadata change notice), and its second format is published (publishing status 04:
  flow 7's release alert);
* the translator of the first published Harbour Lights title (The Bright Keeper) gets an e-mail
  address the sandbox Exstream bounces (flow 8's returned mail).

Idempotent: once the chosen title's stage is "Approved" (a stage the seeded data never uses),
nothing changes again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from sandbox.consonance import store
from sandbox.models import SandboxContact, SandboxProduct, SandboxWork

HARBOUR = 101  # Harbour Lights' imprint id in the sandbox's data
APPROVED = "Approved"
SLIP_DAYS = 42
NEW_GBP_PRICE = 21.99


def _forthcoming(work: SandboxWork) -> list[SandboxProduct]:
    return [
        p
        for p in SandboxProduct.objects.filter(work=work).order_by("id")
        if p.data.get("onixPublishingStatusCode") == "02"
    ]


class Command(BaseCommand):
    help = "Make the Consonance-side changes the demo's flows start from (sandbox only)."

    def handle(self, *args: Any, **options: Any) -> None:
        works = list(SandboxWork.objects.filter(imprint_id=HARBOUR).order_by("id"))
        # Once made, the chosen title no longer has two forthcoming formats (one is published),
        # so a rerun would choose, and change, the next such title: the stage marks it instead.
        done = next((w for w in works if w.data.get("projectStage") == APPROVED), None)
        if done is not None:
            self.stdout.write(f"{done.data['title']}: the demo's changes are already made.")
            return
        title = next((w for w in works if len(_forthcoming(w)) >= 2), None)
        published = next((w for w in works if not _forthcoming(w)), None)
        if title is None:
            self.stdout.write("No forthcoming Harbour Lights title in the sandbox: no changes.")
            return
        with transaction.atomic():
            first, second = _forthcoming(title)[:2]
            store.change_stage(title.pk, stage=APPROVED)
            new_date = store.slip_publication_date(first.pk, days=SLIP_DAYS)
            store.change_price(first.pk, currency="GBP", amount=NEW_GBP_PRICE)
            second.refresh_from_db()
            second.data["onixPublishingStatusCode"] = "04"
            store.save_product(second)
            bounced = self._bouncing_translator(published) if published else ""
        self.stdout.write(
            f"{title.data['title']}: approved; {first.pk} slips to {new_date} at "
            f"£{NEW_GBP_PRICE}; {second.pk} published."
            + (f" {bounced}'s e-mail now bounces." if bounced else "")
        )

    def _bouncing_translator(self, work: SandboxWork) -> str:
        """Give the work's first non-author contributor an address the sandbox bounces."""
        for contribution in work.data.get("contributions") or []:
            if contribution.get("onixContributorRoleCode") == "A01":
                continue
            person = contribution.get("contributor") or {}
            local = str(person.get("name", "contributor")).lower().replace(" ", ".")
            emails = [{"email": f"{local}.bounce@authors.example"}]
            person["emails"] = emails
            contact = SandboxContact.objects.filter(pk=int(person.get("id") or 0)).first()
            if contact is not None:
                contact.data["emails"] = emails
                contact.changed_on = timezone.localdate()
                contact.save()
            work.changed_on = timezone.localdate()
            work.save()
            return str(person.get("name", ""))
        return ""
