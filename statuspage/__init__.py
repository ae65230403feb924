"""The project: settings, URLs, ASGI/WSGI entry points, the Celery app and the public site."""

from .celery import app as celery_app

__all__ = ["celery_app"]
