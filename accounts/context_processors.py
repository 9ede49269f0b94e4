from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from accounts import policy
from accounts.policy import Action

# (label, url name, action needed in at least one imprint). Entries whose screen is not
# installed yet are skipped, so the menu never links to a missing page.
NAVIGATION: list[tuple[str, str, Action]] = [
    ("Titles", "titles:list", Action.VIEW),
    ("Communications", "communications:list", Action.VIEW),
    ("Approvals", "communications:approvals", Action.APPROVE),
    ("Actions", "actions:board", Action.VIEW),
    ("Reports", "reports:customer_service", Action.VIEW),
    ("Statements", "statements:rules", Action.CONFIGURE_STATEMENTS),
    ("Setup", "setup:index", Action.VIEW),
    ("Operations", "operations:index", Action.OPERATE),
    ("Sync", "sync:index", Action.SYNC),
    ("Exstream", "exstream:communications", Action.CONFIGURE),
    ("Audit", "audit_log", Action.AUDIT),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, url_name, action in NAVIGATION:
        if not (user.is_superuser or policy.imprint_ids_for(user, action)):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {
        "nav_items": items,
        "my_imprints": list(policy.imprints_for(user)),
        "current_imprint": getattr(request, "imprint", None),
        # screens only imprint admins use (Setup's export / import) are linked only for them
        "may_configure": user.is_superuser or bool(policy.imprint_ids_for(user, Action.CONFIGURE)),
    }
