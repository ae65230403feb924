"""ASGI entry point: HTTP through Django (public pages' repeat GETs from the fast path),
websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statuspage.settings")
django_asgi_app = get_asgi_application()

from statuspage.startup import refuse_unapplied_migrations  # noqa: E402

refuse_unapplied_migrations()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from notifications.routing import websocket_urlpatterns  # noqa: E402
from statuspage.fastpath import FastPathASGI  # noqa: E402

application = ProtocolTypeRouter(
    {
        # A public page's GET is answered from its kept rendering before Django's handler.
        "http": FastPathASGI(django_asgi_app),
        # Public sockets are anonymous and read-only; only /ws/my/ reads the session
        # (notifications/routing.py). The Origin check guards both.
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
