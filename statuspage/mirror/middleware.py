"""The live page's script falls back to the mirror's live.json (another origin): the
Content-Security-Policy's `connect-src` allows that origin, read from the settings per response."""

from __future__ import annotations

from django.conf import settings


class AllowMirrorOrigin:
    """Adds `MIRROR_PUBLIC_URL` to `connect-src` (django-csp reads `response._csp_update`);
    listed after django-csp's middleware, so it runs before CSP writes the header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.MIRROR_PUBLIC_URL:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["connect-src"] = [*update.get("connect-src", []), settings.MIRROR_PUBLIC_URL]
            response._csp_update = update
        return response
