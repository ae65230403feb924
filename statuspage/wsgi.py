"""WSGI entry point (gunicorn) for the HTTP site, admin and APIs."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
application = get_wsgi_application()

from statuspage.startup import refuse_unapplied_migrations  # noqa: E402

refuse_unapplied_migrations()
