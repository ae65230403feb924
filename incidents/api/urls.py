"""Routes of the management API, mounted at /api/v1/ (Statuspage's v1 paths)."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import alerts, audit, views
from .errors import error_body

app_name = "api"


@csrf_exempt  # API clients send no CSRF cookie: a POST to a wrong path is a 404, not a 403 page
def not_found(request, *args, **kwargs):
    return JsonResponse(error_body("No such API endpoint.", "not_found"), status=404)


# Swagger UI and Redoc start with an inline script and inject styles: their pages (no user
# content, only the schema) get a policy that allows that; every other page keeps the strict one.
DOCS_POLICY = csp_replace(
    {
        "script-src": [SELF, UNSAFE_INLINE],
        "style-src": [SELF, UNSAFE_INLINE, "https://fonts.googleapis.com"],
        "font-src": [SELF, "https://fonts.gstatic.com"],
        "worker-src": [SELF, "blob:"],
    }
)

P = "pages/<str:page_id>"
ID = "[0-9]+"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DOCS_POLICY(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", DOCS_POLICY(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
    path("pages", views.PageList.as_view(), name="pages"),
    path(f"{P}", views.PageDetail.as_view(), name="page"),
    path(f"{P}/components", views.ComponentList.as_view(), name="components"),
    path(f"{P}/components/<str:component_id>", views.ComponentDetail.as_view(), name="component"),
    path(f"{P}/component-groups", views.GroupList.as_view(), name="groups"),
    path(f"{P}/component-groups/<str:id>", views.GroupDetail.as_view(), name="group"),
    path(f"{P}/incidents", views.IncidentList.as_view(), name="incidents"),
    path(f"{P}/incidents/unresolved", views.UnresolvedIncidents.as_view(), name="unresolved"),
    path(f"{P}/incidents/upcoming", views.UpcomingIncidents.as_view(), name="upcoming"),
    path(
        f"{P}/incidents/active_maintenance",
        views.ActiveMaintenance.as_view(),
        name="active-maintenance",
    ),
    path(f"{P}/incidents/scheduled", views.ScheduledIncidents.as_view(), name="scheduled"),
    # Incident ids are digits: "unresolved", "upcoming"... above are lists, never an incident,
    # and the schema says so (a fuzzer no longer sends a list's name as an id).
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})$",
        views.IncidentDetail.as_view(),
        name="incident",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})"
        r"/incident_updates/(?P<incident_update_id>[^/]+)$",
        views.IncidentUpdateDetail.as_view(),
        name="incident-update",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})/postmortem$",
        views.PostmortemDetail.as_view(),
        name="postmortem",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})/postmortem/publish$",
        views.PostmortemPublish.as_view(),
        name="postmortem-publish",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})/postmortem/revert$",
        views.PostmortemRevert.as_view(),
        name="postmortem-revert",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})/postmortem/history$",
        views.PostmortemHistory.as_view(),
        name="postmortem-history",
    ),
    path(f"{P}/incident_templates", views.TemplateList.as_view(), name="templates"),
    path(f"{P}/alertmanager", alerts.AlertmanagerWebhook.as_view(), name="alertmanager"),
    path(f"{P}/grafana", alerts.GrafanaWebhook.as_view(), name="grafana"),
    path(f"{P}/audit-log", audit.AuditLog.as_view(), name="audit-log"),
    re_path(r"^.*$", not_found),
]
