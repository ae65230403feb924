"""The daily uptime rollup: seconds per status per component per local day."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import ComponentStatus
from .pages import Component


class ComponentDailyStatus(models.Model):
    """Seconds a component spent in each status on one day (a day in its page's time zone).

    `seconds` covers [start of day, covered_until); after that the component was `end_status`
    until something changed (which would have updated this row). Maintained by
    `incidents.services.uptime`.
    """

    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="daily_statuses"
    )
    day = models.DateField()
    seconds = models.JSONField(default=dict)
    end_status = models.CharField(max_length=24, choices=ComponentStatus.choices)
    covered_until = models.DateTimeField()

    class Meta:
        ordering = ["component", "day"]
        verbose_name = _("component daily status")
        verbose_name_plural = _("component daily statuses")
        constraints = [
            models.UniqueConstraint(fields=["component", "day"], name="component_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.day}"
