"""`manage.py import_statuspage`: bring a page over from Statuspage (or anything speaking its
manage API v1, such as another installation of ours), in one command, again and again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from incidents.importing.client import SourceError, StatuspageClient
from incidents.importing.statuspage import StatuspageImporter

DEFAULT_API = "https://api.statuspage.io/v1"


class Command(BaseCommand):
    help = (
        "Import a page from Statuspage's manage API: settings, component groups, components, "
        "incidents with their updates and postmortems, maintenance, templates and subscribers. "
        "Running it again updates what it imported before."
    )

    def add_arguments(self, parser):
        parser.add_argument("--api-url", default=DEFAULT_API, help=f"Default: {DEFAULT_API}")
        parser.add_argument("--page-id", required=True, help="The source page's id.")
        parser.add_argument("--api-key", required=True, help="An API key that may read it.")
        parser.add_argument("--into", metavar="SLUG", help="Our page to import into.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between requests (Statuspage allows about one a second).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        client = StatuspageClient(
            options["api_url"], options["api_key"], min_interval=max(0.0, options["interval"])
        )
        quiet = options["no_progress"] or options["verbosity"] == 0

        def progress(label: str):
            # disable=None: tqdm draws only on a terminal (quiet in cron, CI and pipes).
            return tqdm(
                desc=label,
                unit=" objects",
                file=self.stderr,
                disable=True if quiet else None,
                leave=False,
            )

        importer = StatuspageImporter(
            client,
            options["page_id"],
            into=options["into"],
            dry_run=options["dry_run"],
            progress=progress,
        )
        try:
            summary = importer.run()
        except SourceError as error:
            raise CommandError(str(error)) from error
        page = importer.page
        for line in summary.lines(dry_run=options["dry_run"]):
            self.stdout.write(line)
        if page is not None and not options["dry_run"]:
            self.stdout.write(f"Page: {page.name} (/p/{page.slug}/)")
