"""Subscribers in the engineers' admin, per page: import a CSV as confirmed, export, remove.

Engineers see only the subscribers of the pages they manage (`pages_for`); addresses are
personal data and appear nowhere else.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents.admin.base import PageScopedAdmin, ReadOnlyAdminMixin
from incidents.models import Page, Role
from incidents.permissions import pages_for
from statuspage.csv_export import csv_response

from . import services
from .models import Delivery, Subscriber


class ImportForm(forms.Form):
    page = forms.ModelChoiceField(label=gettext_lazy("Page"), queryset=Page.objects.none())
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "One address per line, or a header row with an “email” column (and optionally "
            "“language”: en or nl). Imported addresses are confirmed and get every component."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["page"]).queryset = pages_for(
            user, Role.PAGE_MANAGER
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("Save the file as UTF-8 text (CSV).")) from exc


EDITABLE = ("language", "components", "customer")


class SubscriberForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=Subscriber.Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None selected means all."),
    )

    class Meta:
        model = Subscriber
        fields = ["page", "kind", "endpoint", "email", "events", "language", "components"]


@admin.register(Subscriber)
class SubscriberAdmin(PageScopedAdmin):
    write_role = Role.PAGE_MANAGER
    form = SubscriberForm
    list_display = [
        "__str__",
        "kind",
        "page",
        "language",
        "confirmed_at",
        "unsubscribed_at",
        "flagged_at",
    ]
    list_filter = [
        "page",
        "kind",
        "language",
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("customer", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "endpoint"]
    # Adding here is for a page's own channels: the engineers' chat (Apprise URL) or a webhook.
    add_fields = ["page", "kind", "endpoint", "email", "events", "language", "components"]
    fields = [
        "page",
        "email",
        "language",
        "customer",
        "components",
        "confirmed_at",
        "unsubscribed_at",
        "bounce_count",
        "flagged_at",
        "created_at",
    ]
    # Subscribers are added by themselves (double opt-in) or by the CSV import; here an engineer
    # changes language and components through the service, which checks the components' page.
    readonly_fields = [f for f in fields if isinstance(f, str) and f not in EDITABLE]
    filter_horizontal = ["components"]
    actions = ["export_csv", "renew_secret", "delete_selected"]
    change_list_template = "admin/notifications/subscriber/change_list.html"

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "kind":  # email subscribers subscribe themselves (or the import)
            kwargs["choices"] = [
                c for c in Subscriber.Kind.choices if c[0] != Subscriber.Kind.EMAIL
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            self.check_page(request, obj.page)
            subscriber, secret = services.add_endpoint(
                obj.page,
                kind=obj.kind,
                endpoint=obj.endpoint,
                email=obj.email,
                components=form.cleaned_data["components"],
                events=form.cleaned_data["events"],
                language=obj.language,
                skip_confirmation=True,  # an engineer of the page vouches for it
                actor=request.user,
            )
            obj.pk = subscriber.pk
            if secret:
                self.message_user(
                    request,
                    _("The webhook's signing secret, shown only now: %(secret)s")
                    % {"secret": secret},
                    messages.WARNING,
                )
            return
        services.update_preferences(
            obj,
            components=form.cleaned_data["components"],
            language=obj.language,
            customer=form.cleaned_data.get("customer"),
            actor=request.user,
        )

    def save_related(self, request, form, formsets, change):
        pass  # the components were set by the service

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "components":
            from incidents.models import Component

            kwargs["queryset"] = Component.objects.filter(
                page__in=self.writable_pages(request)
            ).select_related("page", "group")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="notifications_subscriber_import",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("Export selected subscribers as CSV"))
    def export_csv(self, request, queryset):
        return csv_response("subscribers.csv", services.export_rows(queryset))

    @admin.action(description=gettext_lazy("Renew the signing secret of the selected webhook"))
    def renew_secret(self, request, queryset):
        """A webhook's new Standard Webhooks secret, shown only now: for an imported webhook
        (signing with a secret nobody has seen) or one whose secret leaked."""
        chosen = list(queryset[:2])
        if len(chosen) != 1 or chosen[0].kind != Subscriber.Kind.WEBHOOK:
            self.message_user(request, _("Select exactly one webhook."), messages.ERROR)
            return None
        (webhook,) = chosen
        secret = services.renew_webhook_secret(webhook, actor=request.user)
        self.message_user(
            request,
            _("The signing secret of %(webhook)s, shown only now: %(secret)s")
            % {"webhook": webhook, "secret": secret},
            messages.WARNING,
        )
        return None

    def import_view(self, request):
        if not super().has_add_permission(request):  # the model permission: import adds
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            result = services.import_subscribers(
                form.cleaned_data["page"], form.cleaned_data["file"], actor=request.user
            )
            self.message_user(
                request,
                _(
                    "Imported %(created)d new subscribers, confirmed %(confirmed)d existing, "
                    "%(unchanged)d were already subscribed."
                )
                % {
                    "created": result.created,
                    "confirmed": result.confirmed,
                    "unchanged": result.unchanged,
                },
                messages.SUCCESS,
            )
            if result.invalid:
                shown = ", ".join(result.invalid[:10])
                self.message_user(
                    request,
                    _("Skipped %(count)d invalid addresses: %(list)s")
                    % {"count": len(result.invalid), "list": shown},
                    messages.WARNING,
                )
            return HttpResponseRedirect(reverse("admin:notifications_subscriber_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Import subscribers"),
        }
        return TemplateResponse(request, "admin/notifications/subscriber/import.html", context)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, PageScopedAdmin):
    """Read-only view of the outbox, for finding out why someone did not get a mail."""

    page_path = "notification__page"
    list_display = ["notification", "subscriber", "state", "attempts", "sent_at", "last_error"]
    list_filter = ["state"]
    search_fields = ["subscriber__email", "notification__key"]
    list_select_related = ["notification", "subscriber"]
