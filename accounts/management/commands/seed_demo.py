"""Seed demo imprints, territories and one user per role (idempotent).

Prints each demo login. Passwords come from DEMO_PASSWORD (default: 'colophon-demo').
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.audit import log_action
from accounts.demo import require_demo_environment
from accounts.models import Imprint, Membership, Role, Territory, User

IMPRINTS = [
    ("Harbour Lights", "harbour", 101),
    ("Northwind Press", "northwind", 102),
    ("Little Acorn Books", "acorn", 103),
]

COUNTRIES = [
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("IN", "India"),
    ("ZA", "South Africa"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("NL", "Netherlands"),
    ("BE", "Belgium"),
    ("PT", "Portugal"),
    ("SE", "Sweden"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("AT", "Austria"),
    ("PL", "Poland"),
    ("CH", "Switzerland"),
    ("NO", "Norway"),
    ("JP", "Japan"),
]
EU = {"IE", "FR", "DE", "ES", "IT", "NL", "BE", "PT", "SE", "DK", "FI", "AT", "PL"}
GROUPS = [("WORLD", "World"), ("EU", "European Union"), ("ANZ", "Australia and New Zealand")]

# (e-mail local part, full name, role or None for the superuser, imprint codes)
PEOPLE = [
    ("rights", "Rita Rights", Role.RIGHTS_MANAGER, ["harbour"]),
    ("marketing", "Mark Eting", Role.MARKETING, ["harbour"]),
    ("royalties", "Roy Alty", Role.ROYALTIES, ["harbour"]),
    ("pm", "Pam Manager", Role.PROJECT_MANAGER, ["harbour"]),
    ("admin", "Ada Admin", Role.IMPRINT_ADMIN, ["harbour"]),
    ("viewer", "Vic Viewer", Role.VIEWER, ["harbour", "northwind"]),
    ("rights2", "Rhea Second", Role.RIGHTS_MANAGER, ["harbour"]),
    ("northwind", "Nora North", Role.IMPRINT_ADMIN, ["northwind"]),
    ("super", "Sue Peruser", None, []),
]


def seed_reference_data() -> dict[str, Imprint]:
    """Imprints and territories, shared by the demo and the tests."""
    imprints = {}
    for name, code, cid in IMPRINTS:
        imprints[code], _ = Imprint.objects.update_or_create(
            code=code, defaults={"name": name, "consonance_id": cid}
        )
    countries = {}
    for code, name in COUNTRIES:
        countries[code], _ = Territory.objects.update_or_create(
            code=code, defaults={"name": name, "kind": Territory.Kind.COUNTRY}
        )
    for code, name in GROUPS:
        group, _ = Territory.objects.update_or_create(
            code=code, defaults={"name": name, "kind": Territory.Kind.GROUP}
        )
        if code == "EU":
            group.members.set([countries[c] for c in EU])
        elif code == "ANZ":
            group.members.set([countries["AU"], countries["NZ"]])
        elif code == "WORLD":
            group.members.set(countries.values())
    return imprints


class Command(BaseCommand):
    help = "Seed demo imprints, territories and one user per role; prints the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        require_demo_environment("seed_demo")
        password = os.environ.get("DEMO_PASSWORD", "colophon-demo")
        with transaction.atomic():
            imprints = seed_reference_data()
            rows = []
            for local, full_name, role, codes in PEOPLE:
                email = f"{local}@demo.colophon.test"
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(
                        email,
                        password,
                        full_name=full_name,
                        is_superuser=role is None,
                        is_staff=role is None,
                    )
                    log_action(actor=None, verb="user.seeded", target=user, data={"role": role})
                for code in codes:
                    Membership.objects.get_or_create(user=user, imprint=imprints[code], role=role)
                label = Role(role).label if role else "Superuser"
                rows.append((email, label, ", ".join(imprints[c].name for c in codes) or "all"))
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {password})"))
        for email, label, where in rows:
            self.stdout.write(f"  {email:<32} {label:<16} {where}")
