"""Public ids: what the APIs, webhooks and public JSON call an object, as Statuspage does.

A random 12-character lowercase-alphanumeric string ("2xb9kq3c8bvf"): unique across every kind
of object (a group never shares an id with a component), says nothing about how many rows there
are, and is never all digits, so it cannot be mistaken for a database id (which the management
API still accepts in its paths for a transition).
"""

from __future__ import annotations

import re
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LENGTH = 12
PUBLIC_ID = re.compile(rf"^[a-z0-9]{{{LENGTH}}}$")


def new_public_id() -> str:
    """A fresh public id (at least one letter; 36^12 values, so a clash is left to the
    unique constraint)."""
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if not value.isdigit():
            return value


def is_public_id(value: str) -> bool:
    return bool(PUBLIC_ID.match(value)) and not value.isdigit()


class PublicIdField(models.CharField):
    """A unique, indexed public id filled by `new_public_id`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("verbose_name", _("public id"))
        kwargs.setdefault("max_length", LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("default", new_public_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)
