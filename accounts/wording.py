"""How stored facts read on a page: audit verbs as sentences, recorded values as words, JSON as
indented JSON. Pages show these, never a dotted verb, a Python repr or "None →"."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

# Verbs that read better said by hand; any other verb is turned into words (see below).
VERB_SENTENCES: dict[str, str] = {
    "communication.created": "Drafted a communication",
    "communication.approved": "Approved a communication",
    "communication.auto_approved": "Approved automatically",
    "communication.auto_approval_withheld": "Withheld automatic approval",
    "communication.approval_voided": "Voided an approval (something changed)",
    "communication.cancelled": "Cancelled a communication",
    "communication.withdrawn": "Withdrew a draft: the change that caused it was reverted",
    "communication.revert_after_approval": "The change behind an approved communication "
    "was reverted",
    "communication.compose_abandoned": "Gave up composing",
    "communication.compose_failed": "Composing failed",
    "communication.compose_restarted": "Restarted composing",
    "communication.compose_started": "Started composing",
    "communication.composed": "Composed the messages",
    "communication.previewed": "Previewed through Exstream",
    "communication.rejected": "Rejected a communication",
    "communication.replayed": "Sent failed messages again",
    "communication.sending": "Started sending",
    "communication.sent": "Sent to Exstream",
    "communication.submitted": "Submitted for approval",
    "consonance.sync_failed": "Consonance sync failed",
    "consonance.sync_fell_back_to_rest": "Consonance sync used the older REST interface",
    "consonance.sync_finished": "Consonance sync finished",
    "contributor_action.assigned": "Assigned an outstanding action",
    "contributor_action.reminder_drafted": "Drafted a reminder",
    "contributor_actions.opened": "Opened outstanding actions",
    "customer_service.imported": "Imported customer-service outcomes",
    "customer_service.outcomes_recorded": "Recorded customer-service outcomes",
    "exstream.batch_submitted": "Submitted a batch to Exstream",
    "exstream.catalogue_synced": "Synced the Exstream catalogue",
    "exstream.preview_generated": "Rendered a preview",
    "imprint.created_from_source": "Added an imprint found in Consonance",
    "message.status_imported": "Imported message statuses",
    "message.returned_recorded": "Recorded returned mail",
    "message.responded_recorded": "Recorded a response",
    "onix.imported": "Imported an ONIX file",
    "onix.refused": "Refused an ONIX file",
    "outbox.cancelled": "Cancelled a queued call",
    "outbox.dead_letter": "A queued call gave up",
    "outbox.replayed": "Retried a queued call",
    "royalties.imported": "Imported royalty lines",
    "royalties.refused": "Refused a royalty file",
    "setup.audience_list_uploaded": "Uploaded an audience list",
    "setup.auto_approval_changed": "Changed automatic approval",
    "setup.contact_consent_recorded": "Recorded a contact's marketing consent",
    "setup.imported": "Imported a setup",
    "setup.mapping_created": "Mapped a driver field",
    "setup.mapping_deleted": "Removed a field mapping",
    "setup.seeded": "Set up the demo",
    "trigger.draft_refused": "A trigger could not draft",
    "user.seeded": "Added a demo user",
    "writeback.rule_set": "Changed a write-back rule",
    "writeback.kept": "Kept a write-back in Colophon",
    "writeback.sent": "Wrote back to Consonance",
    "writeback.queued": "Queued a write-back to Consonance",
    "writeback.failed": "A write-back to Consonance failed",
}

_NOUNS = {"setup": "", "contributor_action": "outstanding action", "outbox": "queued call"}
_PAST = {"created": "Added", "changed": "Changed", "deleted": "Removed"}


def verb_sentence(verb: str) -> str:
    """``setup.template_created`` -> "Added a template"; any other ``noun.what_happened`` ->
    "Noun: what happened", in words."""
    verb = str(verb or "")
    if verb in VERB_SENTENCES:
        return VERB_SENTENCES[verb]
    noun, _, rest = verb.partition(".")
    words = rest.replace("_", " ").strip()
    if noun == "setup" and words:
        *thing, last = words.split()
        if last in _PAST and thing:
            return f"{_PAST[last]} {' '.join(thing)}"
    noun_words = _NOUNS.get(noun, noun.replace("_", " "))
    text = f"{noun_words}: {words}" if noun_words and words else noun_words or words
    return text[:1].upper() + text[1:]


def field_words(name: str) -> str:
    """``publication_date`` -> "Publication date"; ``delivery:Proofs`` -> "Delivery (Proofs)"."""
    name = str(name or "")
    head, _, tail = name.partition(":")
    text = head.replace("_", " ").strip()
    text = text[:1].upper() + text[1:]
    return f"{text} ({tail.strip()})" if tail.strip() else text


def value_words(value: Any) -> str:
    """A recorded value in words: lists joined, mappings as "key: value", dates spelled out;
    nothing at all as an empty string (never "None")."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, dict):
        if "amount" in value and "currency" in value:
            return f"{value['amount']} {value['currency']}"
        parts = [value_words(v) for v in value.values()]
        return ", ".join(p for p in parts if p)
    if isinstance(value, list | tuple):
        return "; ".join(p for p in (value_words(v) for v in value) if p)
    return str(value)


def change_sentence(field: str, old: Any, new: Any) -> str:
    """One change in words: "Contract added: X", "Price changed from A to B", "… removed"."""
    label = field_words(field)
    before, after = value_words(old), value_words(new)
    if not before and after:
        return f"{label} added: {after}"
    if before and not after:
        return f"{label} removed (was {before})"
    if before == after:
        return f"{label}: {after}" if after else label
    return f"{label} changed from {before} to {after}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return str(value)


def pretty_json(value: Any) -> str:
    """Indented JSON (a string that already holds JSON is re-indented)."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return value.decode() if isinstance(value, bytes) else value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=_jsonable)


def slug_words(value: Any) -> str:
    """A stored status slug as words: ``partially_failed`` -> "Partially failed"."""
    text = str(value or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]
