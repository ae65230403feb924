"""The mail a customer's sign-in causes: the one-time link, HTML + text in the person's language,
framed like every other mail (the customer's home page's colour and logo)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from incidents.models import CustomerMember, Page
from incidents.models.pages import site_url


def home_page(member: CustomerMember) -> Page | None:
    """The page whose look the customer's mails and view use: its home page, else the
    default page, else any."""
    page = member.customer.page
    if page is None:
        page = Page.objects.order_by("-is_default", "pk").first()
    return page


def send_sign_in_link(member: CustomerMember, language: str) -> None:
    """Mail a fresh one-time link (it works once, for `SESAME_MAX_AGE` seconds)."""
    from sesame.utils import get_query_string

    from incidents.services.customer_access import SIGN_IN_SCOPE

    page = home_page(member)
    link = f"{site_url()}/my/link/{get_query_string(member.user, scope=SIGN_IN_SCOPE)}"
    minutes = max(1, settings.SESAME_MAX_AGE // 60)
    language = language if language in dict(settings.LANGUAGES) else "en"
    with translation.override(language):
        context = {"page": page, "customer": member.customer, "link": link, "minutes": minutes}
        subject = _("Your sign-in link for %(name)s") % {
            "name": " ".join((page.name if page else _("the status page")).split())
        }
        text = render_to_string("incidents/email/customer_sign_in.txt", context)
        html = render_to_string("incidents/email/customer_sign_in.html", context)
    message = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [member.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    message.send()
