"""Template context: where the mirror lives, for the live page's fallback (live.js)."""

from django.conf import settings


def mirror(request) -> dict:
    return {"mirror_public_url": settings.MIRROR_PUBLIC_URL}
