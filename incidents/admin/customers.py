"""Admin for customers: contract, outage number, mail domains and people (inlines), and the
services they use picked per page. One save is one service call (`save_customer`); the wall
screen's link is rotated by an action that shows the new link once.

Superusers manage every customer; a page manager manages the customers of their pages and picks
only their pages' services (the customer's services on other pages are kept as they are).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incidents.models import Component, Customer, CustomerDomain, CustomerMember, Page, Role
from incidents.models.pages import site_url
from incidents.permissions import pages_for
from incidents.services.customer_access import (
    delete_customer,
    revoke_wall_link,
    rotate_wall_link,
    save_customer,
)

from .base import PageManagersOnlyMixin, ServiceErrorsAsMessages


def managed_pages(user):
    return Page.objects.all() if user.is_superuser else pages_for(user, Role.PAGE_MANAGER)


class CustomerForm(forms.ModelForm):
    services = forms.MultipleChoiceField(
        label=_("Services it uses"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Its own services and the shared ones it depends on, on any page. Customer-only "
            "services are shown to no one else."
        ),
    )

    class Meta:
        model = Customer
        fields = ["name", "code", "contract", "outage_phone", "page"]

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pages = managed_pages(user) if user is not None else Page.objects.all()
        components = (
            Component.objects.filter(page__in=pages)
            .select_related("page")
            .order_by("page__name", "position", "id")
        )
        grouped: dict[str, list[tuple[str, str]]] = {}
        for c in components:
            label = f"{c.name}" + (f" ({_('customers only')})" if not c.is_public else "")
            grouped.setdefault(c.page.name, []).append((str(c.pk), label))
        cast(forms.ChoiceField, self.fields["services"]).choices = list(grouped.items())
        if self.instance.pk:
            self.initial["services"] = [
                str(pk) for pk in self.instance.components.values_list("pk", flat=True)
            ]
        if "page" in self.fields:
            self.fields["page"].queryset = pages  # type: ignore[attr-defined]


class DomainInline(admin.TabularInline):
    model = CustomerDomain
    extra = 1
    fields = ["domain"]


class MemberInline(admin.TabularInline):
    model = CustomerMember
    extra = 1
    fields = ["email", "invited", "last_sign_in_at"]
    readonly_fields = ["invited", "last_sign_in_at"]
    verbose_name = _("person (invited address)")
    verbose_name_plural = _("people: invited addresses and those who signed in")


@admin.register(Customer)
class CustomerAdmin(PageManagersOnlyMixin, ServiceErrorsAsMessages, admin.ModelAdmin):
    form = CustomerForm
    inlines = [DomainInline, MemberInline]
    list_display = [
        "name",
        "code",
        "contract",
        "page",
        "service_count",
        "domain_count",
        "people_count",
        "wall_link",
    ]
    list_filter = ["contract", "page"]
    search_fields = ["name", "code", "domains__domain", "members__email"]
    actions = ["rotate_wall", "revoke_wall"]
    readonly_fields = ["wall_token_rotated_at"]
    fields = [
        "name",
        "code",
        "contract",
        "outage_phone",
        "page",
        "services",
        "wall_token_rotated_at",
    ]

    # Who may: superusers, and page managers (for the customers of their pages).
    def get_queryset(self, request):
        customers = (
            super()
            .get_queryset(request)
            .select_related("page")
            .annotate(
                n_services=Count("components", distinct=True),
                n_domains=Count("domains", distinct=True),
                n_people=Count("members", distinct=True),
            )
        )
        if request.user.is_superuser:
            return customers
        pages = pages_for(request.user, Role.PAGE_MANAGER)
        return customers.filter(Q(page__in=pages) | Q(components__page__in=pages)).distinct()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class UserForm(form):  # type: ignore[misc,valid-type]  # a class made at runtime
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return UserForm

    @admin.display(description=_("services"), ordering="n_services")
    def service_count(self, customer) -> int:
        return customer.n_services

    @admin.display(description=_("mail domains"), ordering="n_domains")
    def domain_count(self, customer) -> int:
        return customer.n_domains

    @admin.display(description=_("people"), ordering="n_people")
    def people_count(self, customer) -> int:
        return customer.n_people

    @admin.display(description=_("wall link"), boolean=True)
    def wall_link(self, customer) -> bool:
        return bool(customer.wall_token_hash)

    # One save, one service call: the form and its inlines go to `save_customer` together.
    def save_model(self, request, obj, form, change):
        """Saved with the inlines in `save_related`."""

    def save_formset(self, request, form, formset, change):
        """The inlines are saved by the service."""

    def save_related(self, request, form, formsets, change):
        chosen = {int(pk) for pk in form.cleaned_data.get("services") or ()}
        if not request.user.is_superuser and form.instance.pk:
            # Keep the customer's services on pages this engineer does not manage.
            mine = set(
                Component.objects.filter(page__in=managed_pages(request.user)).values_list(
                    "pk", flat=True
                )
            )
            chosen |= set(
                form.instance.components.exclude(pk__in=mine).values_list("pk", flat=True)
            )
        rows: dict[str, list[str]] = {"domain": [], "email": []}
        for formset in formsets:
            for inline in formset.forms:
                data = getattr(inline, "cleaned_data", None) or {}
                if data.get("DELETE"):
                    continue
                for key in rows:
                    if data.get(key):
                        rows[key].append(data[key])
        save_customer(
            form.instance,
            actor=request.user,
            components=Component.objects.filter(pk__in=chosen),
            domains=rows["domain"],
            members=rows["email"],
        )

    def delete_model(self, request, obj):
        delete_customer(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            delete_customer(customer, actor=request.user)

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"added" if add else "changed": {}}]

    @admin.action(description=_("Make a new wall-screen link (the old one stops working)"))
    def rotate_wall(self, request, queryset):
        for customer in queryset:
            _customer, raw = rotate_wall_link(customer, actor=request.user)
            messages.warning(
                request,
                format_html(
                    "{} {}: <code class='wall-link'>{}</code> {}",
                    _("The wall-screen link of"),
                    customer.name,
                    f"{site_url()}/my/wall/{raw}/",
                    _("Copy it now: it is stored only as a hash and will not be shown again."),
                ),
            )

    @admin.action(description=_("Switch the wall-screen link off"))
    def revoke_wall(self, request, queryset):
        for customer in queryset:
            revoke_wall_link(customer, actor=request.user)
        self.message_user(request, _("Switched off."))
