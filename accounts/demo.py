"""The demo seeds run only where the demo lives: with the built-in sandbox served
(``SANDBOX_ENABLED``) and neither vendor pointed at a real system.

``seed_demo`` creates a superuser and staff logins with a published default password, and
``seed_demo_flows`` / ``seed_demo_actions`` / ``seed_demo_royalties`` / ``seed_demo_outcomes``
draft, submit, approve (as two different people of the imprint, by name) and send
communications. Against production that would be a known superuser password and
communications approved by nobody, sent to real contributors and partners through the real
Exstream. Each command asks ``require_demo_environment`` first and refuses with a
``CommandError`` that says why, changing nothing."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError


def demo_environment_problem() -> str | None:
    """Why the demo may not be seeded here (None when it may)."""
    if not settings.SANDBOX_ENABLED:
        return "SANDBOX_ENABLED is off (a production setting)"
    real = [
        name for name in ("CONSONANCE_URL", "EXSTREAM_URL") if getattr(settings, name, "") or ""
    ]
    if real:
        return f"{' and '.join(real)} point{'s' if len(real) == 1 else ''} at a real system"
    return None


def require_demo_environment(command: str) -> None:
    problem = demo_environment_problem()
    if problem:
        raise CommandError(
            f"{command} seeds demo data (demo logins, communications approved and sent as demo "
            f"people) and runs only against the built-in sandbox; here {problem}. Nothing was "
            "changed."
        )
