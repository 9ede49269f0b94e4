"""Template resolution: the most specific active template, and why."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from accounts.models import Imprint, Territory
from integration.models import CommunicationTemplate, CommunicationType

# The template fields staff set, in the order the setup form and the REST API show them.
TEMPLATE_FIELDS = (
    "imprint",
    "name",
    "communication_type",
    "exstream_communication",
    "customer_key_field",
    "optional_driver_fields",
    "channels",
    "territory_code",
    "language",
    "locale",
    "effective_from",
    "effective_to",
    "version",
    "status",
    "notes",
)

SPECIFICITY = {
    0: "imprint and territory",
    1: "imprint",
    2: "territory",
    3: "default",
}


@dataclass
class Candidate:
    template: CommunicationTemplate
    level: str
    verdict: str  # "chosen", "skipped" or "outranked"
    reason: str


@dataclass
class Resolution:
    template: CommunicationTemplate | None
    explanation: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [f"{c.template} — {c.verdict}: {c.reason}" for c in self.candidates]


def _territory_match(
    code: str, territory_code: str, cache: dict[str, Territory | None]
) -> tuple[bool, bool]:
    """(covers?, exact country match?)"""
    if not code:
        return True, False
    if not territory_code:
        return False, False
    if code == territory_code.upper():
        return True, True
    if code not in cache:
        cache[code] = Territory.objects.filter(code=code).first()
    territory = cache[code]
    return bool(territory and territory.covers(territory_code)), False


def _language_match(template_language: str, language: str) -> bool:
    if not template_language:
        return True
    wanted = (language or "").lower().replace("_", "-")
    mine = template_language.lower().replace("_", "-")
    return wanted == mine or wanted.split("-")[0] == mine


def template_resolve(
    *,
    communication_type: CommunicationType,
    imprint: Imprint | None,
    territory_code: str,
    language: str,
    on_date: datetime.date,
) -> Resolution:
    """Pick the most specific active template: imprint + territory, then imprint, then
    territory, then default. Within a level a country beats a group, a named language beats
    'any', and the newest version wins. The explanation lists every candidate and its fate."""
    imprint_id = imprint.pk if imprint is not None else None
    qs = (
        CommunicationTemplate.objects.filter(communication_type=communication_type)
        .select_related("exstream_communication", "imprint")
        .order_by("id")
    )
    if imprint_id is not None:
        from django.db.models import Q

        qs = qs.filter(Q(imprint_id=imprint_id) | Q(imprint__isnull=True))
    else:
        qs = qs.filter(imprint__isnull=True)
    cache: dict[str, Territory | None] = {}
    eligible: list[tuple[tuple[int, int, int, int, int], CommunicationTemplate, str]] = []
    candidates: list[Candidate] = []
    for tpl in qs:
        has_imprint = tpl.imprint_id is not None
        has_territory = bool(tpl.territory_code)
        rank = (0 if has_territory else 1) if has_imprint else (2 if has_territory else 3)
        level = SPECIFICITY[rank]
        where = (
            f"{level} ({tpl.territory_code or 'any territory'}, {tpl.language or 'any language'})"
        )
        reason = ""
        covers, exact = _territory_match(tpl.territory_code, territory_code, cache)
        if tpl.status != CommunicationTemplate.Status.ACTIVE:
            reason = f"it is {tpl.get_status_display().lower()}, not active"
        elif tpl.effective_from > on_date:
            reason = f"it takes effect on {tpl.effective_from:%d %b %Y}, after {on_date:%d %b %Y}"
        elif tpl.effective_to and tpl.effective_to < on_date:
            reason = f"it ended on {tpl.effective_to:%d %b %Y}"
        elif not covers:
            reason = f"its territory {tpl.territory_code} does not cover {territory_code or '—'}"
        elif not _language_match(tpl.language, language):
            reason = f"its language {tpl.language} is not {language or '—'}"
        elif not tpl.exstream_communication.active:
            reason = "its Exstream communication is no longer approved"
        if reason:
            candidates.append(Candidate(tpl, where, "skipped", reason))
            continue
        key = (
            rank,
            0 if exact or not has_territory else 1,
            0 if tpl.language else 1,
            -tpl.version,
            -tpl.effective_from.toordinal(),
        )
        eligible.append((key, tpl, where))
    eligible.sort(key=lambda item: item[0])
    chosen = eligible[0][1] if eligible else None
    for i, (key, tpl, where) in enumerate(eligible):
        if i == 0:
            candidates.append(Candidate(tpl, where, "chosen", f"most specific match: {where}"))
        else:
            best_key, best, _ = eligible[0]
            if key[0] != best_key[0]:
                why = f"a more specific template applies ({SPECIFICITY[best_key[0]]})"
            elif key[1] != best_key[1]:
                why = "a template for the exact country applies"
            elif key[2] != best_key[2]:
                why = "a template in the requested language applies"
            else:
                why = f"{best} is a newer version"
            candidates.append(Candidate(tpl, where, "outranked", why))
    order = {"chosen": 0, "outranked": 1, "skipped": 2}
    candidates.sort(key=lambda c: order[c.verdict])
    scope = (
        f"{communication_type} for {imprint or 'no imprint'}, territory {territory_code or '—'}, "
        f"language {language or '—'}, on {on_date:%d %b %Y}"
    )
    if chosen is None:
        explanation = (
            f"No active template applies to {scope}."
            if candidates
            else f"No template exists for {scope}."
        )
    else:
        explanation = f"{chosen} applies to {scope}: {candidates[0].reason}."
    return Resolution(template=chosen, explanation=explanation, candidates=candidates)
