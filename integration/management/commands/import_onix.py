"""manage.py import_onix FILE [--imprint CODE]: import an ONIX 3.0 reference-tag message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Imprint
from integration.catalogue.onix_import import onix_import
from integration.models import SyncRun


class Command(BaseCommand):
    help = "Import an ONIX 3.0 file into the catalogue mirror (whole file or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--imprint", help="Imprint code for every record (default: from <ImprintName>)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        imprint = None
        if options["imprint"]:
            imprint = Imprint.objects.filter(code=options["imprint"]).first()
            if imprint is None:
                raise CommandError(f"No imprint with code {options['imprint']!r}.")
        with path.open("rb") as stream:
            run = onix_import(stream=stream, filename=path.name, imprint=imprint)
        for error in run.errors[:20]:
            self.stdout.write(f"  failed {error['type']} {error['id']}: {error['error']}")
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(run.message)
        self.stdout.write(self.style.SUCCESS(run.message))
