"""manage.py import_royalties FILE --imprint CODE: import royalty / sales lines (CSV or XLSX)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Imprint
from integration.catalogue.royalty_import import royalty_import


class Command(BaseCommand):
    help = "Import royalty and sales lines (docs/royalty-import.md); whole file or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--imprint", required=True, help="Imprint code the lines belong to.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        imprint = Imprint.objects.filter(code=options["imprint"]).first()
        if imprint is None:
            raise CommandError(f"No imprint with code {options['imprint']!r}.")
        with path.open("rb") as stream:
            record = royalty_import(stream=stream, filename=path.name, imprint=imprint)
        if not record.imported:
            for e in record.errors[:50]:
                where = f"row {e['row']}: " if e["row"] != "" else ""
                self.stdout.write(f"  {where}{e['error']}")
            raise CommandError(
                f"{path.name}: nothing was imported ({len(record.errors)} problems)."
            )
        self.stdout.write(self.style.SUCCESS(f"{path.name}: {record.line_count} lines imported."))
