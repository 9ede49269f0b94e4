"""Write an imprint's communication setup as JSON (to move it between environments)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Imprint
from integration.setup.transfer import setup_export


class Command(BaseCommand):
    help = "Export an imprint's setup (templates, mappings, audiences, rules, triggers) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("imprint", help="Imprint code, e.g. harbour.")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        imprint = Imprint.objects.filter(code=options["imprint"]).first()
        if imprint is None:
            raise CommandError(f"No imprint has the code {options['imprint']!r}.")
        text = json.dumps(setup_export(imprint=imprint), indent=2, ensure_ascii=False)
        if options.get("output"):
            with open(options["output"], "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stdout.write(
                self.style.SUCCESS(f"Wrote {imprint.name}'s setup to {options['output']}.")
            )
        else:
            self.stdout.write(text)
