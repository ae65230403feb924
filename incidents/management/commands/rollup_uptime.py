"""Rebuild the daily uptime rows: yesterday and today, or (`--rebuild`) every day since each
component was created, e.g. after a page's time zone changed."""

from django.core.management.base import BaseCommand

from incidents import services


class Command(BaseCommand):
    help = "Roll up component status history into daily uptime rows."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Recompute every day.")

    def handle(self, *args, rebuild: bool = False, **options):
        written = services.roll_up_uptime(rebuild=rebuild)
        self.stdout.write(f"{written} daily rows written.")
