"""Admin for API keys: the raw key is shown once, on creation; only its hash is stored.

Engineers who are not superusers see and make only keys limited to pages they are page managers
of (a key with no pages may touch every page, so only a superuser may hold one); viewers and
responders make none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents import services
from incidents.models import APIKey, Page, Role
from incidents.permissions import pages_for

from .base import PageManagersOnlyMixin, ServiceErrorsAsMessages

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class APIKeyForm(forms.ModelForm):
    # Declared here: the admin does not build fields for a many-to-many with its own through model.
    pages = forms.ModelMultipleChoiceField(
        queryset=Page.objects.all(),
        required=False,
        widget=FilteredSelectMultiple(_("pages"), is_stacked=False),
        help_text=_("The pages this key may touch. None selected means every page."),
    )

    class Meta:
        model = APIKey
        fields = ["name", "scope", "pages", "expires_at", "revoked"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "pages" in self.fields and user is not None and not user.is_superuser:
            cast(forms.ModelChoiceField, self.fields["pages"]).queryset = pages_for(
                user, Role.PAGE_MANAGER
            )
            self.fields["pages"].required = True
            self.fields["pages"].help_text = _("The pages this key may touch.")

    def clean_pages(self):
        pages = self.cleaned_data.get("pages")
        if self.user is not None and not self.user.is_superuser:
            allowed = set(pages_for(self.user, Role.PAGE_MANAGER).values_list("pk", flat=True))
            if not pages or any(p.pk not in allowed for p in pages):
                raise forms.ValidationError(
                    _("Choose one or more of the pages you are a page manager of.")
                )
        return pages


@admin.register(APIKey)
class APIKeyAdmin(PageManagersOnlyMixin, ServiceErrorsAsMessages, admin.ModelAdmin):
    form = APIKeyForm
    list_display = ["name", "prefix", "scope", "page_list", "expires_at", "state", "last_used_at"]
    list_filter = ["scope", "revoked"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class UserForm(form):  # type: ignore[misc,valid-type]  # a class made at runtime
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return UserForm

    def get_fields(self, request, obj=None):
        fields = ["name", "scope", "pages", "expires_at"]
        if obj is not None:
            fields += [
                "revoked",
                "prefix",
                "created_by",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return fields

    def get_queryset(self, request):
        keys = super().get_queryset(request).prefetch_related("pages")
        if request.user.is_superuser:
            return keys
        managed = pages_for(request.user, Role.PAGE_MANAGER)
        others = Page.objects.exclude(pk__in=managed.values("pk"))
        return keys.filter(pages__in=managed).exclude(pages__in=others).distinct()

    @admin.display(description=_("pages"))
    def page_list(self, key: APIKey) -> StrOrPromise:
        return ", ".join(p.slug for p in key.pages.all()) or _("all pages")

    @admin.display(description=_("state"))
    def state(self, key: APIKey) -> StrOrPromise:
        if key.revoked:
            return _("revoked")
        if key.expires_at and key.expires_at <= timezone.now():
            return _("expired")
        return _("active")

    def save_model(self, request, obj: APIKey, form, change):
        data = form.cleaned_data
        pages = list(data.get("pages") or ())
        if change:
            services.change_api_key(
                obj,
                actor=request.user,
                name=data["name"],
                scope=data["scope"],
                expires_at=data.get("expires_at"),
                pages=pages,
                revoked=data.get("revoked", False),
            )
            return
        key, raw = services.create_api_key(
            actor=request.user,
            name=data["name"],
            pages=pages,
            expires_at=data.get("expires_at"),
            key=obj,
        )
        if raw is not None:
            messages.warning(
                request,
                format_html(
                    "{} <code class='api-key'>{}</code> {}",
                    _("The new API key is"),
                    raw,
                    _("Copy it now: it is stored only as a hash and will not be shown again."),
                ),
            )

    def save_related(self, request, form, formsets, change):
        """The pages were set by the service."""

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked=False):
            services.revoke_api_key(key, actor=request.user)
            count += 1
        self.message_user(request, _("Revoked %(count)d key(s).") % {"count": count})
