"""Atom and RSS feeds of a page's incidents and maintenance, one entry per incident with every
update, built from the page snapshot (like Statuspage's history.atom / history.rss)."""

from __future__ import annotations

import datetime as dt

from django.contrib.syndication.views import Feed
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from incidents.models import IncidentStatus, Page
from incidents.snapshot import page_snapshot
from incidents.snapshot_types import IncidentView, PageInfo

from .pages import page_view

FEED_ITEMS = 50


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


class _SameUntilChanged:
    """An empty feed's `updated` is when the page last changed, not the time of the request
    (Django's default): one version of a page gives one feed (the mirror relies on it)."""

    feed: dict

    def latest_post_date(self) -> dt.datetime:
        if not self.items and self.feed.get("page_changed_at"):  # type: ignore[attr-defined]
            return self.feed["page_changed_at"]
        return super().latest_post_date()  # type: ignore[misc]


class RssFeed(_SameUntilChanged, Rss201rev2Feed):
    pass


class AtomFeed(_SameUntilChanged, Atom1Feed):
    pass


class PageFeed(Feed):
    """Made per request (it remembers the page's URL prefix and snapshot). The language is the
    one `page_view` chose for the request."""

    feed_type: type[SyndicationFeed] = RssFeed

    def __init__(self, request, page: Page):
        super().__init__()
        self.prefix = request.page_prefix
        self.absolute = request.build_absolute_uri
        self.page = page
        self.snapshot = page_snapshot(page, request.LANGUAGE_CODE)

    def get_object(self, request, *args, **kwargs):
        return self.snapshot.page

    def feed_extra_kwargs(self, obj) -> dict:
        return {"page_changed_at": self.snapshot.changed_at()}

    def title(self, page: PageInfo) -> str:
        return _("%(name)s status") % {"name": page.name}

    def link(self, page: PageInfo) -> str:
        return self.prefix

    def feed_url(self, page: PageInfo) -> str:
        suffix = "atom" if issubclass(self.feed_type, Atom1Feed) else "rss"
        return f"{self.prefix}history.{suffix}"

    def description(self, page: PageInfo) -> str:
        return _("Incidents and maintenance of %(name)s") % {"name": page.name}

    def subtitle(self, page: PageInfo) -> str:
        return self.description(page)

    def items(self, page: PageInfo) -> list[IncidentView]:
        snapshot = self.snapshot
        ids = snapshot.recent_incident_ids + snapshot.recent_maintenance_ids
        items = [i for i in snapshot.incidents_of(ids) if i.incident_updates]
        items.sort(key=lambda i: (i.updated_at or "", i.id), reverse=True)
        return items[:FEED_ITEMS]

    def item_title(self, item: IncidentView) -> str:
        return item.name

    def item_link(self, item: IncidentView) -> str:
        return f"{self.prefix}incidents/{item.id}/"

    def item_guid(self, item: IncidentView) -> str:
        return self.absolute(self.item_link(item))

    def item_pubdate(self, item: IncidentView) -> dt.datetime | None:
        return _when(item.created_at)

    def item_updateddate(self, item: IncidentView) -> dt.datetime | None:
        # Publishing a postmortem is news for a feed reader too.
        return _when(max(item.updated_at or "", item.postmortem_published_at or ""))

    def item_categories(self, item: IncidentView) -> list[str]:
        return [item.kind]

    def item_description(self, item: IncidentView) -> str:
        """Every update, newest first, as Statuspage writes them: when, status, message."""
        parts = []
        starts, ends = _when(item.scheduled_for), _when(item.scheduled_until)
        if item.kind == "maintenance" and starts and ends:
            starts, ends = timezone.localtime(starts), timezone.localtime(ends)
            parts.append(
                format_html(
                    "<p><strong>{}</strong> {} – {}</p>",
                    _("Scheduled for"),
                    date_format(starts, "j M Y H:i"),
                    date_format(ends, "j M Y H:i T"),
                )
            )
        if item.postmortem_html:  # only a published postmortem is in the snapshot
            parts.append(
                format_html(
                    "<h3>{}</h3>{}",
                    _("Postmortem"),
                    mark_safe(item.postmortem_html),  # noqa: S308  (sanitised in the snapshot)
                )
            )
        for update in item.incident_updates:
            shown = timezone.localtime(_when(update.display_at))
            parts.append(
                format_html(
                    "<p><small>{}</small><br><strong>{}</strong> - {}</p>",
                    date_format(shown, "j M Y H:i T"),
                    IncidentStatus(update.status).label,
                    mark_safe(update.body_html),  # noqa: S308  (sanitised in the snapshot)
                )
            )
        return "\n".join(parts)


class PageAtomFeed(PageFeed):
    feed_type = AtomFeed


def _serve(feed_class):
    @page_view
    def view(request, page: Page):
        with timezone.override(page.tz):
            return feed_class(request, page)(request)

    return view


atom_feed = _serve(PageAtomFeed)
rss_feed = _serve(PageFeed)
