"""The maintenance clock without Celery beat (embedded mode): `make run` starts it next to the
server. `--once` runs one tick, for cron or a test."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from incidents import services

ROLLUP_EVERY = 15  # minutes


class Command(BaseCommand):
    help = "Start, complete and remind about due maintenance every minute (and roll up uptime)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick and exit.")

    def handle(self, *args, once: bool = False, **options):
        tick = 0
        while True:
            run = services.run_maintenance_clock()
            if run.started or run.completed or run.reminded:
                self.stdout.write(
                    f"{timezone.now():%Y-%m-%d %H:%M:%S}Z started={run.started} "
                    f"completed={run.completed} reminded={run.reminded}"
                )
            services.restore_resolved_alerts()  # hold-downs are minutes; a minute's tick will do
            if tick % ROLLUP_EVERY == 0:
                services.roll_up_uptime()
            if once:
                return
            tick += 1
            # Sleep to the start of the next minute, as beat's crontab() would fire.
            time.sleep(60 - time.time() % 60 + 0.5)
