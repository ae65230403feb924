"""`manage.py mirror_notice --target URL "text"`: put an emergency notice on the mirror from a
laptop, with no database: the last published copy is read from the target and published back
with the notice as a banner on every page (and in summary.json, status.json, phone.txt)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from statuspage.mirror.publish import publish_notice
from statuspage.mirror.targets import TargetError, target_for


class Command(BaseCommand):
    help = "Add an emergency notice to the published mirror (works without the database)."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "--target",
            required=True,
            action="append",
            dest="targets",
            metavar="URL",
            help="file:///path or s3://bucket/prefix (repeatable)",
        )
        parser.add_argument("text", help="What customers should know, in one or two sentences.")

    def handle(self, *args, targets, text, **options):
        failed = 0
        for url in targets:
            try:
                written = publish_notice(target_for(url), text)
            except (TargetError, ValueError, OSError) as error:
                failed += 1
                self.stderr.write(f"{url}: FAILED {error}")
                continue
            self.stdout.write(f"{url}: notice published ({written} files written)")
        if failed:
            raise CommandError(f"{failed} target(s) failed.")
