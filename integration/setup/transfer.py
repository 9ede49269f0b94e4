"""Setup services: save and delete every setup object with an audit row, the per-imprint
auto-approval choice, and export / import of an imprint's whole setup as JSON (all or nothing).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.api import contains_nul
from accounts.audit import log_action
from accounts.models import Imprint
from accounts.types import Actor, person
from integration.models import (
    Audience,
    CommunicationTemplate,
    CommunicationType,
    ComplianceRule,
    ExstreamCommunication,
    FieldMapping,
    ImprintTypeSetting,
    TriggerRule,
)
from integration.setup.audiences import reminder_audience_ids
from integration.setup.changes import setup_changed
from integration.setup.context import REGISTRY
from integration.setup.mappings import mapping_problems, transform_problems

EXPORT_FORMAT = "colophon-setup/1"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def setup_object_snapshot(instance: models.Model) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in model_to_dict(instance).items()}


def setup_object_save(
    *,
    actor: Actor,
    instance: models.Model,
    m2m: dict[str, list[Any]] | None = None,
    before: dict[str, Any] | None = None,
) -> models.Model:
    """Validate (``full_clean``) and save a template, audience, compliance or trigger rule, and
    record who changed what. ``before`` is the snapshot taken before the edit (for the diff)."""
    instance.full_clean()
    if (
        isinstance(instance, TriggerRule)
        and instance.audience_id is not None
        and reminder_audience_ids().filter(audience_id=instance.audience_id).exists()
    ):
        raise ValidationError(
            {
                "audience": "That list was made for a single reminder and belongs to it; "
                "choose another audience for the rule."
            }
        )
    created = instance.pk is None
    label = instance._meta.model_name
    with transaction.atomic():
        instance.save()
        for name, values in (m2m or {}).items():
            getattr(instance, name).set(values)
        after = setup_object_snapshot(instance)
        if created or before is None:
            data = {"values": after}
        else:
            data = {
                "changes": {
                    k: {"from": before.get(k), "to": v}
                    for k, v in after.items()
                    if before.get(k) != v and k != "updated_at"
                }
            }
        log_action(
            actor=actor,
            verb=f"setup.{label}_{'created' if created else 'changed'}",
            target=instance,
            data=data,
        )
        if not created:
            _revalidate_users_of(instance)
    return instance


def _revalidate_users_of(instance: models.Model) -> None:
    """After commit, re-check submitted / approved / queued communications that use a changed
    template or audience (their approval is voided when the payload differs)."""

    if isinstance(instance, CommunicationTemplate):
        setup_changed(kind="template", object_id=instance.pk)
    elif isinstance(instance, Audience):
        setup_changed(kind="audience", object_id=instance.pk)


def setup_object_delete(*, actor: Actor, instance: models.Model) -> None:
    label = instance._meta.model_name
    with transaction.atomic():
        log_action(
            actor=actor,
            verb=f"setup.{label}_deleted",
            target=instance,
            imprint=getattr(instance, "imprint_id", None),
            data={"values": setup_object_snapshot(instance)},
        )
        try:
            instance.delete()
        except models.ProtectedError as exc:
            names = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
            raise ValidationError(f"{instance} is still used by: {names}.") from exc


def type_auto_approval_set(
    *, actor: Actor, imprint: Imprint, communication_type: CommunicationType, auto_approvable: bool
) -> ImprintTypeSetting:
    """An imprint admin's choice that drafts of this type need no approval (audited)."""
    with transaction.atomic():
        setting, _ = ImprintTypeSetting.objects.select_for_update().get_or_create(
            imprint=imprint, communication_type=communication_type
        )
        previous = setting.auto_approvable
        setting.auto_approvable = auto_approvable
        setting.updated_by = person(actor)
        setting.updated_at = timezone.now()
        setting.save()
        log_action(
            actor=actor,
            verb="setup.auto_approval_changed",
            target=setting,
            imprint=imprint,
            data={
                "communication_type": communication_type.code,
                "from": previous,
                "to": auto_approvable,
            },
        )
    return setting


# --- Export / import ---------------------------------------------------------------------------


def setup_export(*, imprint: Imprint) -> dict[str, Any]:
    """The imprint's whole setup, by natural keys (names and codes, never database ids).
    Uploaded member lists are personal data and are not exported: re-upload them."""
    templates = (
        CommunicationTemplate.objects.filter(imprint=imprint)
        .select_related("communication_type", "exstream_communication")
        .prefetch_related("mappings")
        .order_by("name", "version")
    )
    rules = ComplianceRule.objects.filter(imprint=imprint).prefetch_related("communication_types")
    return {
        "format": EXPORT_FORMAT,
        "imprint": imprint.code,
        "exported_at": timezone.now().isoformat(),
        "auto_approvable": sorted(
            ImprintTypeSetting.objects.filter(imprint=imprint, auto_approvable=True).values_list(
                "communication_type__code", flat=True
            )
        ),
        "templates": [
            {
                "name": t.name,
                "version": t.version,
                "communication_type": t.communication_type.code,
                "exstream": {
                    "domain": t.exstream_communication.domain,
                    "communication_id": t.exstream_communication.communication_id,
                    "name": t.exstream_communication.name,
                },
                "channels": t.channels,
                "territory_code": t.territory_code,
                "language": t.language,
                "locale": t.locale,
                "effective_from": t.effective_from.isoformat(),
                "effective_to": t.effective_to.isoformat() if t.effective_to else None,
                "status": t.status,
                "notes": t.notes,
                "mappings": [
                    {
                        "driver_field": m.driver_field,
                        "context_field": m.context_field,
                        "transforms": m.transforms,
                        "required": m.required,
                    }
                    for m in t.mappings.all()
                ],
            }
            for t in templates
        ],
        "audiences": [
            {key: getattr(a, key) for key in Audience.SETTINGS_FIELDS}
            for a in Audience.objects.filter(imprint=imprint).order_by("name")
        ],
        "compliance_rules": [
            {
                key: (
                    sorted(t.code for t in r.communication_types.all())
                    if key == "communication_types"
                    else getattr(r, key)
                )
                for key in ComplianceRule.SETTINGS_FIELDS
            }
            for r in rules.order_by("name")
        ],
        "triggers": [
            {
                "name": t.name,
                "event": t.event,
                "match_value": t.match_value,
                "deliverable_type": t.deliverable_type,
                "territory": t.territory,
                "days_before": t.days_before,
                "communication_type": t.communication_type.code,
                "audience": t.audience.name,
                "active": t.active,
            }
            for t in TriggerRule.objects.filter(imprint=imprint)
            .select_related("communication_type", "audience")
            .order_by("name")
        ],
    }


class ImportRefused(ValidationError):
    pass


def _find_exstream(ref: Any) -> ExstreamCommunication | None:
    if not isinstance(ref, dict):
        return None
    qs = ExstreamCommunication.objects.filter(active=True)
    if ref.get("communication_id"):
        found = qs.filter(communication_id=ref["communication_id"])
        if ref.get("domain"):
            found = found.filter(domain=ref["domain"])
        if found.exists():
            return found.first()
    if ref.get("name"):
        return qs.filter(name=ref["name"]).order_by("-synced_at").first()
    return None


def _build(
    imprint: Imprint, data: dict[str, Any]
) -> tuple[list[str], list[tuple[str, models.Model, dict[str, Any]]]]:
    """Validate everything without writing; return problems and the objects to save."""
    problems: list[str] = []
    plan: list[tuple[str, models.Model, dict[str, Any]]] = []
    types = {t.code: t for t in CommunicationType.objects.all()}
    if data.get("format") != EXPORT_FORMAT:
        return [f"This is not a Colophon setup export ({EXPORT_FORMAT})."], []

    def check(obj: models.Model, where: str, exclude: list[str] | None = None) -> None:
        try:
            obj.full_clean(exclude=exclude, validate_unique=False)
        except ValidationError as exc:
            for field, msgs in exc.message_dict.items():
                problems.extend(f"{where}, {field}: {m}" for m in msgs)

    for section, keyer in (
        ("audiences", lambda o: o.get("name")),
        ("templates", lambda o: (o.get("name"), o.get("version", 1))),
        ("compliance_rules", lambda o: o.get("name")),
        ("triggers", lambda o: o.get("name")),
    ):
        items = data.get(section, [])
        if not isinstance(items, list) or not all(isinstance(o, dict) for o in items):
            problems.append(f"'{section}' must be a list of objects.")
            continue
        keys = [keyer(o) for o in items]
        for dup in sorted({str(k) for k in keys if keys.count(k) > 1}):
            problems.append(f"'{section}' lists {dup} more than once.")
    if problems:
        return problems, []
    for code in data.get("auto_approvable", []):
        if code not in types:
            problems.append(f"auto_approvable: no communication type '{code}'.")
    audiences: dict[str, Audience] = {}
    for i, a in enumerate(data.get("audiences", []), start=1):
        where = f"Audience {i} ({a.get('name', '?')})"
        existing = Audience.objects.filter(imprint=imprint, name=a.get("name")).first()
        aud = existing or Audience(imprint=imprint)
        for key in Audience.SETTINGS_FIELDS:
            if key in a:
                setattr(aud, key, a[key])
        check(aud, where)
        audiences[aud.name] = aud
        plan.append(("audience", aud, {}))
    for i, t in enumerate(data.get("templates", []), start=1):
        where = f"Template {i} ({t.get('name', '?')} v{t.get('version', '?')})"
        ctype = types.get(t.get("communication_type", ""))
        if ctype is None:
            problems.append(f"{where}: no communication type '{t.get('communication_type')}'.")
            continue
        exstream = _find_exstream(t.get("exstream"))
        if exstream is None:
            ref = t.get("exstream") or {}
            problems.append(
                f"{where}: the Exstream communication '{ref.get('name')}' "
                f"({ref.get('communication_id')}) has not been synced here."
            )
            continue
        existing_t = CommunicationTemplate.objects.filter(
            imprint=imprint, name=t.get("name"), version=t.get("version", 1)
        ).first()
        tpl = existing_t or CommunicationTemplate(imprint=imprint)
        tpl.name = t.get("name", "")
        tpl.version = t.get("version", 1)
        tpl.communication_type = ctype
        tpl.exstream_communication = exstream
        for key in ("channels", "territory_code", "language", "locale", "status", "notes"):
            if key in t:
                setattr(tpl, key, t[key])
        try:
            tpl.effective_from = datetime.date.fromisoformat(t["effective_from"])
            tpl.effective_to = (
                datetime.date.fromisoformat(t["effective_to"]) if t.get("effective_to") else None
            )
        except (KeyError, TypeError, ValueError):
            problems.append(f"{where}: effective dates must be YYYY-MM-DD.")
            continue
        check(tpl, where)
        driver_names = {f["name"] for f in exstream.driver_fields}
        mappings = []
        for m in t.get("mappings", []):
            fm = FieldMapping(
                driver_field=m.get("driver_field", ""),
                context_field=m.get("context_field", ""),
                transforms=m.get("transforms", []),
                required=bool(m.get("required")),
            )
            if fm.context_field not in REGISTRY:
                problems.append(f"{where}: '{fm.context_field}' is not a context field.")
            if driver_names and fm.driver_field not in driver_names:
                problems.append(
                    f"{where}: '{fm.driver_field}' is not a driver field of '{exstream.name}'."
                )
            problems.extend(
                f"{where}, {fm.driver_field}: {p}" for p in transform_problems(fm.transforms)
            )
            mappings.append(fm)
        plan.append(("template", tpl, {"mappings": mappings}))
    for i, r in enumerate(data.get("compliance_rules", []), start=1):
        where = f"Compliance rule {i} ({r.get('name', '?')})"
        rule = ComplianceRule.objects.filter(imprint=imprint, name=r.get("name")).first()
        rule = rule or ComplianceRule(imprint=imprint)
        for key in ComplianceRule.SETTINGS_FIELDS:
            if key == "communication_types":
                continue  # many-to-many: set below, after the types are checked
            if key in r:
                setattr(rule, key, r[key])
        wanted = r.get("communication_types", [])
        unknown = [c for c in wanted if c not in types]
        if unknown:
            problems.append(f"{where}: no communication type {', '.join(unknown)}.")
        check(rule, where)
        plan.append(("rule", rule, {"types": [types[c] for c in wanted if c in types]}))
    for i, tr in enumerate(data.get("triggers", []), start=1):
        where = f"Trigger {i} ({tr.get('name', '?')})"
        ctype = types.get(tr.get("communication_type", ""))
        audience = (
            audiences.get(tr.get("audience", ""))
            or Audience.objects.filter(imprint=imprint, name=tr.get("audience", "")).first()
        )
        if ctype is None:
            problems.append(f"{where}: no communication type '{tr.get('communication_type')}'.")
        if audience is None:
            problems.append(f"{where}: no audience named '{tr.get('audience')}'.")
        if ctype is None or audience is None:
            continue
        trig = TriggerRule.objects.filter(imprint=imprint, name=tr.get("name")).first()
        trig = trig or TriggerRule(imprint=imprint)
        for key in (
            "name",
            "event",
            "match_value",
            "deliverable_type",
            "territory",
            "days_before",
            "active",
        ):
            if key in tr:
                setattr(trig, key, tr[key])
        trig.communication_type = ctype
        trig.audience = audience
        check(trig, where, exclude=["audience"] if audience.pk is None else None)
        plan.append(("trigger", trig, {"audience_name": audience.name}))
    return problems, plan


def setup_import(*, actor: Actor, imprint: Imprint, data: dict[str, Any]) -> dict[str, int]:
    """Validate the whole export first; apply all of it or — on any problem — nothing.
    Objects are matched by name (templates by name and version) and updated or created."""
    if not isinstance(data, dict):
        raise ImportRefused(["The file is not a JSON object."])
    if contains_nul(data):
        # PostgreSQL stores no NUL in text or jsonb: refused whole, as any other problem.
        raise ImportRefused(["The file contains a NUL character (\\u0000); remove it."])
    problems, plan = _build(imprint, data)
    if problems:
        raise ImportRefused(problems)
    counts = {"audiences": 0, "templates": 0, "mappings": 0, "compliance_rules": 0, "triggers": 0}
    with transaction.atomic():
        saved_audiences: dict[str, Audience] = {}
        for kind, obj, extra in plan:
            if kind == "audience":
                assert isinstance(obj, Audience)
                obj.save()
                saved_audiences[obj.name] = obj
                counts["audiences"] += 1
            elif kind == "template":
                assert isinstance(obj, CommunicationTemplate)
                obj.save()
                FieldMapping.objects.filter(template=obj).delete()
                for fm in extra["mappings"]:
                    fm.template = obj
                    fm.save()
                counts["templates"] += 1
                counts["mappings"] += len(extra["mappings"])
            elif kind == "rule":
                assert isinstance(obj, ComplianceRule)
                obj.save()
                obj.communication_types.set(extra["types"])
                counts["compliance_rules"] += 1
            elif kind == "trigger":
                assert isinstance(obj, TriggerRule)
                obj.audience = saved_audiences.get(extra["audience_name"]) or obj.audience
                obj.save()
                counts["triggers"] += 1
        for ctype in CommunicationType.objects.all():
            wanted = ctype.code in data.get("auto_approvable", [])
            setting = ImprintTypeSetting.objects.filter(
                imprint=imprint, communication_type=ctype
            ).first()
            if (setting.auto_approvable if setting else False) != wanted:
                type_auto_approval_set(
                    actor=actor, imprint=imprint, communication_type=ctype, auto_approvable=wanted
                )
        log_action(
            actor=actor,
            verb="setup.imported",
            target=imprint,
            imprint=imprint,
            data={"counts": counts, "source_imprint": data.get("imprint")},
        )
    return counts


def template_problems(*, template: CommunicationTemplate) -> list[str]:
    return mapping_problems(template)
