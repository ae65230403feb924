"""Customer companies: who uses which services, under which contract, and who may sign in.

An MSP's customers each run on their own mix of services, across pages (their own internet line,
their own PBX, shared hosting). A component is `public` (everyone sees it) or `customers` (only
the customers it is assigned to see it, for example "Acme: fibre line Utrecht"). A customer's
people sign in without a password (a one-time link to an address of one of its domains, or an
invited address) and see the customer view, `/my/`.

The PIN of the after-hours outage line is never stored: the page only says "have your PIN ready".
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .public_ids import PublicIdField

domain_name = RegexValidator(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    _("Enter a mail domain like example.com (lowercase, no @)."),
)
customer_code = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,39}$",
    _("Use 1 to 40 lowercase letters, digits and hyphens, like acme or acme-utrecht."),
)


class Contract(models.TextChoices):
    """What a customer's support contract lets it do, and when."""

    OFFICE_HOURS = "office_hours", _("Office hours")
    EXTENDED_16X7 = "extended_16x7", _("16x7 with an after-hours outage line")


class Customer(models.Model):
    """A customer company (Statuspage: a page access group)."""

    public_id = PublicIdField()
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[customer_code],
        help_text=_("Short name the phone system and the API use, like acme."),
    )
    name = models.CharField(_("name"), max_length=120)
    contract = models.CharField(
        _("contract"), max_length=16, choices=Contract.choices, default=Contract.OFFICE_HOURS
    )
    outage_phone = models.CharField(
        _("after-hours outage number"),
        max_length=40,
        blank=True,
        help_text=_("The number this customer calls after hours (16x7 only). Never store the PIN."),
    )
    components = models.ManyToManyField(
        "incidents.Component",
        related_name="customers",
        blank=True,
        verbose_name=_("services it uses"),
        help_text=_("Its own services and the shared ones it depends on, on any page."),
    )
    # The page whose API created it (Statuspage's page access groups belong to a page); a
    # customer itself spans pages through its components.
    page = models.ForeignKey(
        "incidents.Page",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("home page"),
        help_text=_("The page whose look, language and support desk the customer view uses."),
    )
    # A read-only link for wall screens: only a hash of its secret is kept (rotatable).
    wall_token_hash = models.CharField(max_length=128, blank=True, editable=False)
    wall_token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.CheckConstraint(
                condition=Q(contract__in=Contract.values), name="customer_contract_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_after_hours_line(self) -> bool:
        return self.contract == Contract.EXTENDED_16X7 and bool(self.outage_phone)


class CustomerDomain(models.Model):
    """A mail domain whose addresses belong to a customer's people (one customer per domain)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(
        _("mail domain"), max_length=253, unique=True, validators=[domain_name]
    )

    class Meta:
        ordering = ["domain"]
        verbose_name = _("mail domain")
        verbose_name_plural = _("mail domains")

    def __str__(self) -> str:
        return self.domain


class CustomerMember(models.Model):
    """A person of a customer: an invited address (Statuspage: a page access user), or one who
    signed in with an address of the customer's domains. `user` is the Django user the
    passwordless sign-in logs in (never staff)."""

    public_id = PublicIdField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="members")
    email = models.EmailField(_("email"), unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer_member",
    )
    invited = models.BooleanField(
        _("invited"), default=True, help_text=_("Added by us rather than by signing in.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(_("last signed in"), null=True, blank=True)

    class Meta:
        ordering = ["customer", "email"]
        verbose_name = _("customer person")
        verbose_name_plural = _("customer people")

    def __str__(self) -> str:
        return self.email
