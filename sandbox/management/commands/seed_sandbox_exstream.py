from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from sandbox.exstream.catalogue import seed_exstream_sandbox


class Command(BaseCommand):
    help = "Seed the sandbox Exstream catalogue on the production and preview domains."

    def handle(self, *args: Any, **options: Any) -> None:
        count = seed_exstream_sandbox()
        self.stdout.write(f"Seeded {count} sandbox Exstream communications.")
