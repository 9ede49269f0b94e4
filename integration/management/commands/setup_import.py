"""Import an imprint's communication setup from JSON: checked first, applied all or nothing."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Imprint
from integration.setup.transfer import setup_import


class Command(BaseCommand):
    help = "Import a setup export into an imprint (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("imprint", help="Imprint code to import into.")
        parser.add_argument("file", help="JSON file written by setup_export or the Setup screen.")

    def handle(self, *args: Any, **options: Any) -> None:
        imprint = Imprint.objects.filter(code=options["imprint"]).first()
        if imprint is None:
            raise CommandError(f"No imprint has the code {options['imprint']!r}.")
        try:
            with open(options["file"], encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            counts = setup_import(actor="command:setup_import", imprint=imprint, data=data)
        except ValidationError as exc:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  - {m}" for m in exc.messages)
            ) from exc
        summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Imported into {imprint.name}: {summary}."))
