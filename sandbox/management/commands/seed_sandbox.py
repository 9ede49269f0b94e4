"""Seed the sandbox Consonance with deterministic demo data (idempotent and fast)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.consonance import store


class Command(BaseCommand):
    help = "Seed the sandbox Consonance (works, products, contacts, contracts). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--works", type=int, default=60, help="How many works (default 60).")
        parser.add_argument(
            "--reset", action="store_true", help="Reload even if the sandbox holds that many."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = store.seed(works=options["works"], reset=options["reset"])
        verb = "Seeded" if result["created"] else "Sandbox already seeded with"
        self.stdout.write(f"{verb} {result['works']} works, {result['products']} products.")
