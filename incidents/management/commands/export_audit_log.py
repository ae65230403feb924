"""Write a page's audit trail as JSON lines (oldest first) to stdout, for archives and SIEMs."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from incidents.models import AuditEntry, Page


class Command(BaseCommand):
    help = "Export a page's audit log as JSON lines (one entry per line, oldest first)."

    def add_arguments(self, parser):
        parser.add_argument("--page", required=True, help="The page's slug.")
        parser.add_argument("--since", help="Only entries at or after this ISO 8601 moment.")

    def handle(self, *args, page: str, since: str | None = None, **options):
        found = Page.objects.filter(slug=page).first()
        if found is None:
            raise CommandError(f"No page with the slug “{page}”.")
        entries = AuditEntry.objects.filter(page=found).order_by("created_at", "id")
        if since:
            moment = parse_datetime(since)
            if moment is None or moment.tzinfo is None:
                raise CommandError("--since needs an ISO 8601 moment with a time zone.")
            entries = entries.filter(created_at__gte=moment)
        for entry in entries.iterator(chunk_size=500):
            self.stdout.write(json.dumps(entry.as_dict(), ensure_ascii=False, sort_keys=True))
