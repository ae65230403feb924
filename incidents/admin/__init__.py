"""The engineers' admin, one module per concept. Every change goes through incidents.services."""

from . import incidents, pages, reports  # noqa: F401
