"""The engineers' admin, one module per concept. Every change goes through incidents.services."""

from . import api_keys, incidents, pages  # noqa: F401
