"""`manage.py publish_mirror [--page SLUG] [--target URL] [--heartbeat]`: publish the mirror now
(or keep publishing every MIRROR_HEARTBEAT_SECONDS, for embedded mode without Celery beat)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from statuspage.mirror.publish import publish_mirror
from statuspage.mirror.site import MirrorBuildError
from statuspage.mirror.targets import TargetError


class Command(BaseCommand):
    help = "Publish the static mirror of every public page to the MIRROR_TARGETS now."

    def add_arguments(self, parser):
        parser.add_argument(
            "--page",
            action="append",
            dest="pages",
            metavar="SLUG",
            help="Only this page's files (repeatable); the rest stay as they are.",
        )
        parser.add_argument(
            "--target",
            action="append",
            dest="targets",
            metavar="URL",
            help="Only this target (default: every one in MIRROR_TARGETS).",
        )
        parser.add_argument(
            "--heartbeat",
            action="store_true",
            help="Keep publishing every MIRROR_HEARTBEAT_SECONDS.",
        )

    def handle(self, *args, pages=None, targets=None, heartbeat=False, **options):
        if not targets and not settings.MIRROR_TARGETS:
            raise CommandError("No target: set MIRROR_TARGETS or pass --target.")
        while True:
            try:
                failed = self._publish_once(pages, targets)
            except CommandError as error:
                if not heartbeat:
                    raise
                self.stderr.write(f"publish failed: {error}")  # the next beat tries again
                failed = 0
            if not heartbeat:
                if failed:
                    raise CommandError(f"{failed} target(s) failed (see above).")
                return
            time.sleep(settings.MIRROR_HEARTBEAT_SECONDS)

    def _publish_once(self, pages, targets) -> int:
        try:
            outcomes = publish_mirror(pages=pages, targets=targets)
        except (MirrorBuildError, TargetError) as error:
            raise CommandError(str(error)) from error
        failed = 0
        for outcome in outcomes:
            if outcome.error:
                failed += 1
                self.stderr.write(f"{outcome.url}: FAILED {outcome.error}")
            else:
                r = outcome.result
                assert r is not None  # no error: a result
                self.stdout.write(
                    f"{outcome.url}: {r.files} files, {r.written} written "
                    f"({r.written_bytes} bytes), {r.deleted} removed, {outcome.seconds:.2f} s"
                )
        return failed
