"""The event outbox: each committed change's domain event, written in the change's transaction.

A row is the promise that every listener (websocket push, email notification) will hear of
the change: `incidents.relay` hands it to them after commit and marks it published once all
succeeded; a row they could not take (Redis down, a broker hanging) is handed again later.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .pages import Page


class OutboxEvent(models.Model):
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="+")
    page_slug = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(
                fields=["id"], name="outbox_unpublished", condition=Q(published_at__isnull=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.page_slug} v{self.version}"
