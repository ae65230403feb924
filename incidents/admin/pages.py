"""Admin for pages, their opening hours, component groups and components."""
