"""Maintenance's lists, as Statuspage has them under `/incidents/`: upcoming, active, scheduled.

Maintenance is an incident of kind "maintenance": it is created, read and changed through the
incident endpoints (`incidents.py`), which call the maintenance services.
"""

from __future__ import annotations

from .incidents import _sub_list

UpcomingIncidents = _sub_list("upcoming", "Upcoming", "Maintenance that has not started.")
ActiveMaintenance = _sub_list("active_maintenance", "ActiveMaintenance", "Maintenance under way.")
ScheduledIncidents = _sub_list("scheduled", "Scheduled", "All scheduled maintenance.")
