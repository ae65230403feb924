"""The page a sign-in gets while django-axes has paused it (too many wrong passwords)."""

from __future__ import annotations

import math

from axes.helpers import (  # type: ignore[import-untyped]  # django-axes ships no type hints
    get_cool_off,
    get_failure_limit,
)
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    """429 with a page that says why and for how long, in the admin's look."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_timedelta": cool_off,
        "cooloff_minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
    }
    return render(request, "admin/locked_out.html", context, status=429)
