"""Chat notifications through Apprise (Slack, Microsoft Teams, Mattermost, Discord, Telegram,
ntfy and many more): one short, localized message per event, linking to the incident.

Apprise URLs of self-hosted services (JSON/form webhooks, Mattermost, ntfy, Gotify, Rocket.Chat,
Matrix...) are checked against SSRF like webhooks when they are saved; and every send, whatever
the kind of URL, runs inside `ssrf.checked_connections()`: each address a plugin connects to is
checked as it is resolved, so a name that resolves elsewhere by then (DNS rebinding) is refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import apprise
from django.utils import translation
from django.utils.translation import gettext as _

from incidents.events import COMPONENT_UPDATED
from incidents.models import ComponentStatus, ComponentStatusChange, Incident, IncidentStatus

from . import emails
from .ssrf import UnsafeURL, check_host, checked_connections

# Apprise schemes whose host is whatever the user wrote (so it may be one of ours).
SELF_HOSTED = {
    base + suffix
    for base in (
        "json", "xml", "form", "mmost", "ntfy", "gotify", "rocket", "matrix", "apprise",
        "nctalk", "ncloud", "mqtt", "misskey", "mastodon", "toot", "signal", "ses", "rsyslog",
    )
    for suffix in ("", "s")
}  # fmt: skip


def check_apprise_url(url: str) -> str:
    """A usable Apprise URL that does not point into our own network; raises UnsafeURL."""
    url = (url or "").strip()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True) if url else None
    if not plugin:
        raise UnsafeURL(
            _("This is not a chat URL Apprise understands, for example mmost://host/token.")
        )
    scheme = urlsplit(url).scheme.lower()
    if scheme in SELF_HOSTED:
        check_host(getattr(plugin, "host", None), getattr(plugin, "port", None))
    return url


def message_for(
    notification, language: str, customer_id: int | None = None
) -> tuple[str, str] | None:
    """(title, body) in the subscriber's language; None when nothing it may see remains (a
    status change of a component that is neither public nor its customer's)."""
    page = notification.page
    with translation.override(language):
        if notification.event_type == COMPONENT_UPDATED:
            change = (
                ComponentStatusChange.objects.select_related("component")
                .filter(pk=notification.data.get("change_id"), component__page=page)
                .first()
            )
            if change is None or not change.component.is_visible:
                return None
            if not change.component.is_public and not (
                customer_id and change.component.customers.filter(pk=customer_id).exists()
            ):
                return None
            title = f"{page.name}: {change.component.name}"
            body = _("%(component)s is now %(new)s (was %(old)s).") % {
                "component": change.component.name,
                "new": ComponentStatus(change.new_status).label,
                "old": ComponentStatus(change.old_status).label if change.old_status else "—",
            }
            return title, f"{body}\n{emails.page_url(page)}"
        incident_id = (notification.data.get("incident") or {}).get("id")
        if incident_id is None:
            return None
        incident = Incident.objects.filter(pk=incident_id, page=page).first()
        if incident is None:
            return None
        update = incident.updates.order_by("-display_at", "-id").first()
        status = IncidentStatus(incident.status).label
        title = f"{page.name}: {incident.name} ({status})"
        text = (update.body if update else "").strip()
        if len(text) > 400:
            text = text[:399].rstrip() + "…"
        link = emails.page_url(page, f"incidents/{incident.pk}/")
        return title, f"{text}\n{link}" if text else link


def send(url: str, title: str, body: str) -> None:
    """Send one chat message; raises UnsafeURL when the URL, or any address its plugin
    connects to at send time, is one of ours, and RuntimeError when Apprise reports a failure."""
    check_apprise_url(url)
    # In this thread (no worker pool): the check follows the plugin's connections.
    notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
    if not notifier.add(url):
        raise UnsafeURL("Apprise does not understand this URL")
    with checked_connections() as refusals:
        sent = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    if refusals:
        raise UnsafeURL(refusals[0])
    if not sent:
        raise RuntimeError("the chat service did not accept the message")
