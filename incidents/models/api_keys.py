"""API keys of the management API and the idempotency records of its POSTs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .pages import Page


class APIKey(models.Model):
    """A key for the management API: shown once on creation, stored only as a hash.

    `prefix` (the first characters of the raw key) finds the row; the SHA-256 of the whole key
    proves it. No pages means every page.
    """

    class Scope(models.TextChoices):
        READ_WRITE = "read_write", _("Read and write")
        READ_ONLY = "read_only", _("Read only")

    name = models.CharField(_("name"), max_length=120)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scope = models.CharField(
        _("scope"), max_length=16, choices=Scope.choices, default=Scope.READ_WRITE
    )
    pages: models.ManyToManyField[Page, APIKeyPage] = models.ManyToManyField(
        Page,
        through="APIKeyPage",
        blank=True,
        related_name="api_keys",
        verbose_name=_("pages"),
        help_text=_("The pages this key may touch. None selected means every page."),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"API key {self.name}"

    # DRF treats the authenticated key as the request's user.
    is_authenticated = True

    @property
    def is_read_only(self) -> bool:
        return self.scope == self.Scope.READ_ONLY


class APIKeyPage(models.Model):
    """A page a key is limited to. A page with limited keys cannot be deleted (PROTECT): were
    its last link to vanish, the key would silently become a key for every page."""

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(
        Page, on_delete=models.PROTECT, related_name="+", verbose_name=_("page")
    )

    class Meta:
        verbose_name = _("API key page")
        verbose_name_plural = _("API key pages")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "page"], name="api_key_page_unique")
        ]

    def __str__(self) -> str:
        return f"{self.api_key_id} → {self.page_id}"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an `Idempotency-Key`, replayed on a retry."""

    api_key = models.ForeignKey(APIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
