"""The one place that decides who may do what, per imprint and role.

Every view, API endpoint, export and queryset asks here:

* ``can(user, action, obj)`` — may this user do this action on this object (by its imprint)?
* ``require(user, action, obj)`` — the same, raising ``PermissionDenied`` with a readable reason.
* ``imprints_for(user, action)`` — the imprints where the user may do the action.
* ``for_user(user, queryset, action)`` — the queryset narrowed to those imprints.
* ``visible(user, queryset, action)`` — the same for any model: imprints themselves are narrowed
  to the user's imprints, imprint-less reference data (communication types …) is left whole.
* ``can_draft`` / ``can_approve`` — per communication category (rights, royalties …).

Objects expose their imprint as ``obj.imprint_id`` (or are an ``Imprint``); querysets filter by
``imprint`` unless the model declares ``policy_imprint_field`` (for example ``"work__imprint"``).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet

from accounts.models import Imprint, Membership, Role


class Action(StrEnum):
    VIEW = "view"  # see titles, communications, timelines, reports
    PREVIEW = "preview"  # render previews through Exstream
    DRAFT = "draft"  # create and edit communications (category rules apply on top)
    APPROVE = "approve"  # approve or reject (category rules and four eyes apply on top)
    RECORD_RESPONSE = "record_response"  # record contributor responses, returned mail
    CONFIGURE = "configure"  # templates, mappings, audiences, rules, triggers
    CONFIGURE_STATEMENTS = "configure_statements"  # statement rules, payee profiles (flow 3)
    IMPORT = "import"  # ONIX and royalty imports, CSV audience uploads
    SYNC = "sync"  # start Consonance / Exstream syncs
    OPERATE = "operate"  # dead letters, held jobs, replays
    AUDIT = "audit"  # read the audit log


_ALL_STAFF = {r.value for r in Role}
_DRAFTERS = {
    Role.MARKETING,
    Role.RIGHTS_MANAGER,
    Role.ROYALTIES,
    Role.PROJECT_MANAGER,
    Role.IMPRINT_ADMIN,
}

ROLE_ACTIONS: dict[Action, set[str]] = {
    Action.VIEW: _ALL_STAFF,
    Action.PREVIEW: set(_DRAFTERS),
    Action.DRAFT: set(_DRAFTERS),
    Action.APPROVE: {
        Role.MARKETING,
        Role.RIGHTS_MANAGER,
        Role.ROYALTIES,
        Role.PROJECT_MANAGER,
        Role.IMPRINT_ADMIN,
    },
    Action.RECORD_RESPONSE: {Role.PROJECT_MANAGER, Role.RIGHTS_MANAGER, Role.IMPRINT_ADMIN},
    Action.CONFIGURE: {Role.IMPRINT_ADMIN},
    Action.CONFIGURE_STATEMENTS: {Role.IMPRINT_ADMIN, Role.ROYALTIES},
    Action.IMPORT: {Role.IMPRINT_ADMIN, Role.ROYALTIES, Role.MARKETING},
    Action.SYNC: {Role.IMPRINT_ADMIN},
    Action.OPERATE: {Role.IMPRINT_ADMIN},
    Action.AUDIT: {Role.IMPRINT_ADMIN},
}


class Category(StrEnum):
    RIGHTS = "rights"
    ROYALTIES = "royalties"
    EDITORIAL = "editorial"
    MARKETING = "marketing"
    PARTNER = "partner"
    CUSTOMER_SERVICE = "customer_service"
    CONTRIBUTOR = "contributor"


# Which roles may draft, and which may approve, a communication of each category.
CATEGORY_ROLES: dict[Category, tuple[set[str], set[str]]] = {
    Category.RIGHTS: ({Role.RIGHTS_MANAGER}, {Role.RIGHTS_MANAGER, Role.IMPRINT_ADMIN}),
    Category.ROYALTIES: ({Role.ROYALTIES}, {Role.ROYALTIES, Role.IMPRINT_ADMIN}),
    Category.EDITORIAL: ({Role.PROJECT_MANAGER}, {Role.PROJECT_MANAGER, Role.IMPRINT_ADMIN}),
    Category.MARKETING: ({Role.MARKETING}, {Role.MARKETING, Role.IMPRINT_ADMIN}),
    Category.PARTNER: ({Role.MARKETING}, {Role.MARKETING, Role.IMPRINT_ADMIN}),
    Category.CUSTOMER_SERVICE: (
        {Role.MARKETING, Role.PROJECT_MANAGER},
        {Role.MARKETING, Role.IMPRINT_ADMIN},
    ),
    Category.CONTRIBUTOR: (
        {Role.PROJECT_MANAGER, Role.RIGHTS_MANAGER},
        {Role.PROJECT_MANAGER, Role.IMPRINT_ADMIN},
    ),
}
# Imprint admins may draft anything in their imprint.
for _drafters, _ in CATEGORY_ROLES.values():
    _drafters.add(Role.IMPRINT_ADMIN)

M = TypeVar("M", bound=Model)


def _is_active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _role_map(user: Any) -> dict[int, set[str]]:
    """imprint id -> the user's roles there, loaded once per user object (i.e. per request)."""
    cache: dict[int, set[str]] | None = getattr(user, "_policy_roles", None)
    if cache is None:
        cache = {}
        for imp_id, role in Membership.objects.filter(user=user).values_list("imprint_id", "role"):
            cache.setdefault(imp_id, set()).add(role)
        user._policy_roles = cache
    return cache


def roles_in(user: Any, imprint_id: int | None) -> set[str]:
    """The user's roles in one imprint."""
    if not _is_active(user) or imprint_id is None:
        return set()
    return _role_map(user).get(imprint_id, set())


def forget(user: Any) -> None:
    """Drop the cached roles (after memberships change)."""
    if hasattr(user, "_policy_roles"):
        del user._policy_roles


def imprint_id_of(obj: Any) -> int | None:
    if obj is None:
        return None
    if isinstance(obj, Imprint):
        return obj.pk
    if isinstance(obj, int):
        return obj
    imprint_id = getattr(obj, "imprint_id", None)
    if imprint_id is None and hasattr(obj, "policy_imprint_id"):
        imprint_id = obj.policy_imprint_id()
    return imprint_id


def can(user: Any, action: Action | str, obj: Any) -> bool:
    """May ``user`` do ``action`` on ``obj`` (an Imprint, an imprint id, or an object with one)?"""
    if not _is_active(user):
        return False
    if user.is_superuser:
        return True
    allowed = ROLE_ACTIONS[Action(action)]
    return bool(roles_in(user, imprint_id_of(obj)) & allowed)


def require(user: Any, action: Action | str, obj: Any) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {Action(action).value} this in its imprint.")


def imprints_for(user: Any, action: Action | str = Action.VIEW) -> QuerySet[Imprint]:
    if not _is_active(user):
        return Imprint.objects.none()
    if user.is_superuser:
        return Imprint.objects.all()
    allowed = ROLE_ACTIONS[Action(action)]
    return Imprint.objects.filter(memberships__user=user, memberships__role__in=allowed).distinct()


def imprint_ids_for(user: Any, action: Action | str = Action.VIEW) -> set[int]:
    if not _is_active(user):
        return set()
    if user.is_superuser:
        return set(Imprint.objects.values_list("pk", flat=True))
    allowed = ROLE_ACTIONS[Action(action)]
    return {imp for imp, rs in _role_map(user).items() if rs & allowed}


def for_user(
    user: Any,
    queryset: QuerySet[M],
    action: Action | str = Action.VIEW,
    imprint_field: str | None = None,
) -> QuerySet[M]:
    """Narrow ``queryset`` to the objects whose imprint lets ``user`` do ``action``."""
    if not _is_active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    field = imprint_field or getattr(queryset.model, "policy_imprint_field", "imprint")
    return queryset.filter(**{f"{field}__in": imprint_ids_for(user, action)})


def imprint_field_of(model: type[Model]) -> str | None:
    """The lookup from ``model`` to its imprint, or ``None`` for imprint-less reference data."""
    declared: str | None = getattr(model, "policy_imprint_field", None)
    if declared:
        return declared
    names = {f.name for f in model._meta.get_fields()}
    return "imprint" if "imprint" in names else None


def visible(user: Any, queryset: QuerySet[M], action: Action | str = Action.VIEW) -> QuerySet[M]:
    """``queryset`` narrowed to what ``user`` may ``action``, whatever the model: an imprint
    queryset to the user's imprints, an imprint-scoped model through ``for_user``; reference
    data without an imprint (communication types, Exstream communications) is returned whole.
    Used for the choices and lookups of API relation fields, so a form never lists another
    imprint's objects and a posted id of one is "not found"."""
    if not _is_active(user):
        return queryset.none()
    if queryset.model is Imprint:
        if user.is_superuser:
            return queryset
        return queryset.filter(pk__in=imprint_ids_for(user, action))
    field = imprint_field_of(queryset.model)
    if field is None:
        return queryset
    return for_user(user, queryset, action, imprint_field=field)


def can_draft(user: Any, category: Category | str, obj: Any) -> bool:
    if not _is_active(user):
        return False
    if user.is_superuser:
        return True
    drafters, _ = CATEGORY_ROLES[Category(category)]
    return bool(roles_in(user, imprint_id_of(obj)) & drafters)


def can_approve(
    user: Any, category: Category | str, obj: Any, *, author_ids: Collection[int]
) -> bool:
    """Four eyes: the approver holds an approving role for the category in the object's imprint
    and is none of the people who drafted, edited or submitted it (``author_ids``). Superusers
    are not exempt from four eyes."""
    if not _is_active(user):
        return False
    if user.pk in author_ids:
        return False
    if user.is_superuser:
        return True
    _, approvers = CATEGORY_ROLES[Category(category)]
    return bool(roles_in(user, imprint_id_of(obj)) & approvers)


def approval_refusal(
    user: Any, category: Category | str, obj: Any, *, author_ids: Collection[int]
) -> str | None:
    """Why ``user`` may not approve, in words a person can act on — naming who may approve
    instead; ``None`` when they may."""
    if not _is_active(user):
        return "You must be signed in."
    if user.pk in author_ids:
        return (
            "You drafted, edited or submitted this communication; another person must approve it."
            + _ask(category, obj, exclude={user.pk, *author_ids})
        )
    if can_approve(user, category, obj, author_ids=author_ids):
        return None
    _, approvers = CATEGORY_ROLES[Category(category)]
    names = " or ".join(sorted(Role(r).label for r in approvers))
    return (
        f"Approving {Category(category).value} communications in this imprint needs a "
        f"{names}." + _ask(category, obj, exclude={user.pk, *author_ids})
    )


def approver_names(
    category: Category | str, obj: Any, *, exclude: set[int | None] | None = None
) -> list[str]:
    """The active people who may approve ``category`` in ``obj``'s imprint (full name, else
    e-mail), leaving out ``exclude`` (its authors, the person asking)."""
    _, approvers = CATEGORY_ROLES[Category(category)]
    imprint_id = imprint_id_of(obj)
    if imprint_id is None:
        return []
    rows = (
        Membership.objects.filter(imprint_id=imprint_id, role__in=approvers, user__is_active=True)
        .exclude(user_id__in=[pk for pk in exclude or set() if pk is not None])
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    names: list[str] = []
    for m in rows:
        name = m.user.get_full_name() or m.user.email
        if name not in names:
            names.append(name)
    return names


def _ask(category: Category | str, obj: Any, *, exclude: set[int | None]) -> str:
    names = approver_names(category, obj, exclude=exclude)
    if not names:
        return " Nobody else in this imprint may approve it yet; an imprint admin can add one."
    shown = names[:5]
    who = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f" Ask {who}{' (and others)' if len(names) > 5 else ''}."
