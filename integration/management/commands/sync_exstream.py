from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from integration.lib.http import ExternalServiceError
from integration.setup.designs import exstream_catalogue_sync


class Command(BaseCommand):
    help = "Sync approved, latest Exstream communications (with manifests) into Colophon."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--domain", action="append", help="Domain(s); default both.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = exstream_catalogue_sync(
                actor="command:sync_exstream", domains=options.get("domain")
            )
        except ExternalServiceError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Exstream catalogue: {result}")
