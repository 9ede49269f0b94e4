"""manage.py sync_consonance [--full] [--since DATE]: pull from Consonance with a progress bar."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from integration.catalogue.sync import SyncAlreadyRunning, consonance_sync, sync_run_start
from integration.models import SyncRun


class Command(BaseCommand):
    help = (
        "Sync works, products, contributors and contracts from Consonance. Incremental by "
        "default (since the last successful run minus one day); an interrupted run resumes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="Full resync; marks withdrawals.")
        parser.add_argument("--since", type=datetime.date.fromisoformat, help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = sync_run_start(full=options["full"], since=options["since"], enqueue_task=False)
        except SyncAlreadyRunning as exc:
            raise CommandError(str(exc)) from exc
        since = run.since.isoformat() if run.since else "the beginning"
        self.stdout.write(f"Sync {run.pk} ({run.get_kind_display()}) since {since}")
        bar = tqdm(desc="records", unit=" rec", file=self.stderr, disable=None)
        state = {"seen": run.seen}

        def progress(r: SyncRun) -> None:
            bar.update(r.seen - state["seen"])
            state["seen"] = r.seen
            bar.set_postfix(phase=r.phase, new=r.created, upd=r.updated, failed=r.failed)

        run = consonance_sync(run=run, progress=progress)
        bar.close()
        for error in run.errors[:20]:
            self.stdout.write(f"  failed {error['type']} {error['id']}: {error['error']}")
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(run.message)
        self.stdout.write(self.style.SUCCESS(run.message))
