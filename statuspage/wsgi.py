"""WSGI entry point (gunicorn) for the HTTP site, admin and APIs (public pages' repeat GETs
from the fast path)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django_wsgi_app = get_wsgi_application()

from statuspage.fastpath import FastPathWSGI  # noqa: E402

# A public page's GET is answered from its kept rendering before Django's handler.
application = FastPathWSGI(django_wsgi_app)

from statuspage.startup import refuse_unapplied_migrations  # noqa: E402

refuse_unapplied_migrations()
