"""Routes of one public page, mounted both at /p/<slug>/ and at / (custom host or default)."""

from django.urls import path

from incidents.api import public
from notifications import views as notification_views

from . import embeds, feeds, playbook_views, report_views, views
from .lastgood import last_good

# Every public read is served from its last good copy when PostgreSQL or Redis fails
# (statuspage/lastgood.py); forms and subscriptions are not (they write, or carry a CSRF token).

urlpatterns = [
    path("", last_good(views.status_page), name="status"),
    path("incidents/<int:pk>/", last_good(views.incident_page), name="incident"),
    path("history/", last_good(views.history_page), name="history"),
    path("history/<int:year>/<int:month>/", last_good(views.history_page), name="history-month"),
    # Public read API, Statuspage v2 compatible (issue 3).
    path("api/v2/summary.json", last_good(public.summary), name="api-v2-summary"),
    path("api/v2/status.json", last_good(public.status), name="api-v2-status"),
    path("api/v2/components.json", last_good(public.components), name="api-v2-components"),
    path("api/v2/incidents.json", last_good(public.incidents), name="api-v2-incidents"),
    path(
        "api/v2/incidents/unresolved.json", last_good(public.unresolved), name="api-v2-unresolved"
    ),
    path(
        "api/v2/scheduled-maintenances.json",
        last_good(public.scheduled_maintenances),
        name="api-v2-scheduled-maintenances",
    ),
    path(
        "api/v2/scheduled-maintenances/upcoming.json",
        last_good(public.upcoming),
        name="api-v2-upcoming",
    ),
    path(
        "api/v2/scheduled-maintenances/active.json", last_good(public.active), name="api-v2-active"
    ),
    # Outage playbook (issue 7): report a problem, the printable handout, the phone line.
    path("report/", report_views.pick, name="report"),
    path("report/known/", report_views.known, name="report-known"),
    path("report/form/", report_views.report_form, name="report-form"),
    path("report/sent/", report_views.sent, name="report-sent"),
    path("handout/", last_good(playbook_views.handout_page), name="handout"),
    path("handout.pdf", last_good(playbook_views.handout_pdf_view), name="handout-pdf"),
    path("phone.json", last_good(playbook_views.phone_json), name="phone-json"),
    path("phone.txt", last_good(playbook_views.phone_txt), name="phone-txt"),
    # Feeds of incidents and maintenance (issue 6).
    path("history.atom", last_good(feeds.atom_feed), name="feed-atom"),
    path("history.rss", last_good(feeds.rss_feed), name="feed-rss"),
    # The live sections as JSON (ETag = page version): the page's script catches up or polls.
    path("live.json", last_good(views.live_json), name="live"),
    # Badges, the embeddable page and the widget (issue 15).
    path("badge.svg", embeds.badge, name="badge"),
    path(
        "components/<str:component_id>/badge.svg",
        embeds.component_badge_view,
        name="component-badge",
    ),
    path("embed/", embeds.embed, name="embed"),
    path("widget.js", embeds.widget_js, name="widget"),
    # Email subscriptions (notifications app).
    path("subscribe/", notification_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:signed>/", notification_views.confirm, name="subscribe-confirm"),
    path("subscription/<str:token>/", notification_views.manage, name="subscription"),
    path("unsubscribe/<str:token>/", notification_views.unsubscribe, name="unsubscribe"),
]
