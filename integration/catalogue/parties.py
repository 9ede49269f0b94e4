"""Imprints and contacts named by incoming records: imprints resolved (or created) by name, and
contacts upserted by their source id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.text import slugify

from accounts.audit import log_action
from accounts.models import Imprint
from accounts.types import Actor
from integration.connectors.consonance.mapping import content_hash
from integration.lib.upsert import upsert_rows
from integration.models import (
    Contact,
)


def _unique_code(name: str) -> str:
    base = (slugify(name) or "imprint")[:34]
    code, n = base, 1
    while Imprint.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


def resolve_imprints(
    refs: Iterable[dict[str, Any]], *, actor: Actor = None, source: str = "graphql"
) -> dict[tuple[Any, str], Imprint]:
    """(consonance id, name) → Imprint, matched by Consonance id (or by name when the id is
    ``None``, as in ONIX). Unknown imprints are created, audited, rather than losing data."""
    out: dict[tuple[Any, str], Imprint] = {}
    wanted = {(r.get("id"), r.get("name") or "") for r in refs}
    by_id = {
        i.consonance_id: i
        for i in Imprint.objects.filter(
            consonance_id__in=[w[0] for w in wanted if w[0] is not None]
        )
    }
    for cid, name in wanted:
        imprint = by_id.get(cid) if cid is not None else None
        if imprint is None and cid is None and name:
            imprint = Imprint.objects.filter(name__iexact=name).first()
        if imprint is None:
            label = name or f"Consonance imprint {cid}"
            if Imprint.objects.filter(name=label).exists():
                label = f"{label} ({cid})"
            imprint = Imprint.objects.create(
                name=label, code=_unique_code(label), consonance_id=cid
            )
            log_action(
                actor=actor,
                verb="imprint.created_from_source",
                target=imprint,
                data={"consonance_id": cid, "name": name, "source": source},
            )
        out[(cid, name)] = imprint
    return out


def _contact_values(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": doc["kind"],
        "name": doc["name"][:300] or f"Contact {doc['id']}",
        "key_names": doc["key_names"][:200],
        "person_name_inverted": doc["person_name_inverted"][:300],
        "isni": doc["isni"][:20],
        "country": doc["country"][:2],
        "emails": doc["emails"],
        "phones": doc["phones"],
        "addresses": doc["addresses"],
    }


CONTACT_FIELDS = [
    "kind",
    "name",
    "key_names",
    "person_name_inverted",
    "isni",
    "country",
    "emails",
    "phones",
    "addresses",
]


def upsert_contacts(docs: Iterable[dict[str, Any]], *, source: str) -> dict[int, int]:
    """Consonance contact id → Contact pk; writes only new or changed contacts."""
    unique = {d["id"]: d for d in docs}
    existing = {
        cid: (pk, h)
        for cid, pk, h in Contact.objects.filter(consonance_id__in=unique).values_list(
            "consonance_id", "pk", "content_hash"
        )
    }
    now = timezone.now()
    to_create, to_update = [], []
    for cid, doc in unique.items():
        digest = content_hash(doc)
        if cid not in existing:
            to_create.append(
                Contact(
                    consonance_id=cid,
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    source=source,
                    synced_at=now,
                    **_contact_values(doc),
                )
            )
        elif existing[cid][1] != digest:
            to_update.append(
                Contact(
                    pk=existing[cid][0],
                    consonance_id=cid,
                    raw=doc,
                    snapshot=doc,
                    content_hash=digest,
                    synced_at=now,
                    **_contact_values(doc),
                )
            )
    mapping = {cid: v[0] for cid, v in existing.items()}
    # New and changed contacts in one statement keyed by Consonance id (a changed one keeps
    # its source and withdrawal, as before).
    mapping.update(
        upsert_rows(
            Contact,
            to_create + to_update,
            key="consonance_id",
            update=["raw", "snapshot", "content_hash", "synced_at", *CONTACT_FIELDS],
            changed=["content_hash"],
        )
    )
    unreturned = [c.consonance_id for c in to_create if c.consonance_id not in mapping]
    if unreturned:
        mapping.update(
            Contact.objects.filter(consonance_id__in=unreturned).values_list("consonance_id", "pk")
        )
    return mapping
