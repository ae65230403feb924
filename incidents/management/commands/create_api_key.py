"""Create an API key for a script or a deployment; prints only the key on stdout."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from incidents import services
from incidents.models import Page


class Command(BaseCommand):
    help = "Create a management-API key and print it (only the key, on stdout)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the key is for, e.g. 'monitoring'.")
        parser.add_argument(
            "--page",
            action="append",
            default=[],
            metavar="SLUG",
            help="Limit the key to this page (repeat for several). Default: every page.",
        )
        parser.add_argument("--read-only", action="store_true", help="The key may only read.")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="The key stops working after N days."
        )

    def handle(self, *args, name, page, read_only, expires_in_days, **options):
        pages = list(Page.objects.filter(slug__in=page))
        unknown = sorted(set(page) - {p.slug for p in pages})
        if unknown:
            raise CommandError(f"No page with slug: {', '.join(unknown)}")
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be 1 or more.")
            expires_at = timezone.now() + dt.timedelta(days=expires_in_days)
        _key, raw = services.create_api_key(
            actor=services.Actor.command("create_api_key"),
            name=name,
            pages=pages,
            read_only=read_only,
            expires_at=expires_at,
        )
        self.stdout.write(raw)
