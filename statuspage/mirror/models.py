"""What the admin shows per mirror target: the last published copy, the last error, the backoff."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MirrorTarget(models.Model):
    """One configured target (`MIRROR_TARGETS`); rows are made by the publisher, not by hand."""

    url = models.CharField(_("target"), max_length=500, unique=True)
    published_at = models.DateTimeField(_("last published"), null=True, blank=True)
    versions = models.JSONField(_("published versions"), default=dict, blank=True)
    files = models.PositiveIntegerField(_("files in the copy"), default=0)
    uploaded = models.PositiveIntegerField(_("files written last time"), default=0)
    uploaded_bytes = models.PositiveBigIntegerField(_("bytes written last time"), default=0)
    duration = models.FloatField(_("seconds to publish"), default=0)
    attempted_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)

    class Meta:
        ordering = ["url"]
        verbose_name = _("mirror target")
        verbose_name_plural = _("mirror targets")

    def __str__(self) -> str:
        return self.url

    @property
    def is_healthy(self) -> bool:
        return self.failures == 0 and self.published_at is not None
