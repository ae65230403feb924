"""Where imported objects came from: re-running an import updates them instead of copying."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .pages import Page


class ImportedObject(models.Model):
    """One object of ours that an import into a page made from one object of a source.

    `source` names the source page (its API address and page id); `kind` and `source_id` name
    the object there; `object_id` is our object's key, kept as text so that neither side's id
    format (digits, Statuspage's 12-character strings) is assumed.
    """

    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="imported_objects")
    source = models.CharField(_("source"), max_length=300)
    kind = models.CharField(_("kind"), max_length=32)
    source_id = models.CharField(_("source id"), max_length=64)
    object_id = models.CharField(_("our id"), max_length=64)
    imported_at = models.DateTimeField(_("imported"), auto_now=True)

    class Meta:
        verbose_name = _("imported object")
        verbose_name_plural = _("imported objects")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "source", "kind", "source_id"], name="imported_object_once"
            )
        ]
        indexes = [models.Index(fields=["page", "kind", "object_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} → {self.object_id}"
