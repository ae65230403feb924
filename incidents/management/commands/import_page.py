"""`manage.py import_page page.json`: restore a page written by `export_page`."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from incidents.importing.archive import import_page
from incidents.services import ServiceError, System

RESTORE = System("page import", kind="command")


class Command(BaseCommand):
    help = "Create a page, with everything that belonged to it, from an export_page file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file (- for stdin).")
        parser.add_argument("--slug", help="Give the page another slug here.")

    def handle(self, *args, file, slug=None, **options):
        try:
            if file == "-":
                document = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as handle:
                    document = json.load(handle)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        except ValueError as error:
            raise CommandError(f"{file} is not JSON: {error}.") from error
        try:
            report = import_page(document, actor=RESTORE, slug=slug)
        except ServiceError as error:
            raise CommandError(error.message) from error
        page = report.page
        self.stdout.write(f"Imported page {page.name} (/p/{page.slug}/):")
        for label, count in report.counts.items():
            if count:
                self.stdout.write(f"  {label}: {count}")
        for note in report.notes:
            self.stdout.write(f"Note: {note}")
