"""`manage.py export_page SLUG > page.json`: one page and everything that belongs to it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from incidents.importing.archive import dumps, export_page
from incidents.models import Page


class Command(BaseCommand):
    help = (
        "Write a page with its history, uptime, subscribers, templates, hours and reports as "
        "JSON (to stdout, or --output FILE); `import_page` restores it on any installation."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The page's slug.")
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")

    def handle(self, *args, slug, output=None, **options):
        page = Page.objects.filter(slug=slug).first()
        if page is None:
            raise CommandError(f"No page with slug “{slug}”.")
        text = dumps(export_page(page))
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(text)
