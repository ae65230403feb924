"""Admin for incidents, their timeline, templates and status history."""
