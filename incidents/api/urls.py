"""Routes of the management API, mounted at /api/v1/ (Statuspage's v1 paths)."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import alerts, views
from .converters import PATTERN
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
        "style-src": [SELF, UNSAFE_INLINE],
        "font-src": [SELF],
        "worker-src": [SELF, "blob:"],
    }
)

P = "pages/<str:page_id>"
# An object's id: its public id, or (for a transition) its database id in digits (the `apiid`
# converter's pattern, spelled out where a route needs a regex).
ID = PATTERN
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DOCS_POLICY(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", DOCS_POLICY(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
    path("pages", views.PageList.as_view(), name="pages"),
    path(f"{P}", views.PageDetail.as_view(), name="page"),
    path(f"{P}/components", views.ComponentList.as_view(), name="components"),
    path(f"{P}/components/<apiid:component_id>", views.ComponentDetail.as_view(), name="component"),
    path(f"{P}/component-groups", views.GroupList.as_view(), name="groups"),
    path(f"{P}/component-groups/<apiid:id>", views.GroupDetail.as_view(), name="group"),
    path(f"{P}/incidents", views.IncidentList.as_view(), name="incidents"),
    path(f"{P}/incidents/unresolved", views.UnresolvedIncidents.as_view(), name="unresolved"),
    path(f"{P}/incidents/upcoming", views.UpcomingIncidents.as_view(), name="upcoming"),
    path(
        f"{P}/incidents/active_maintenance",
        views.ActiveMaintenance.as_view(),
        name="active-maintenance",
    ),
    path(f"{P}/incidents/scheduled", views.ScheduledIncidents.as_view(), name="scheduled"),
    # Incident ids are 12 letters and digits, or digits: "unresolved", "upcoming"... above are
    # lists, never an incident, and the schema says so (a fuzzer sends no list's name as an id).
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})$",
        views.IncidentDetail.as_view(),
        name="incident",
    ),
    re_path(
        rf"^pages/(?P<page_id>[^/]+)/incidents/(?P<incident_id>{ID})"
        rf"/incident_updates/(?P<incident_update_id>{ID})$",
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
    path(f"{P}/page_access_groups", views.AccessGroupList.as_view(), name="access-groups"),
    path(
        f"{P}/page_access_groups/<apiid:id>",
        views.AccessGroupDetail.as_view(),
        name="access-group",
    ),
    path(
        f"{P}/page_access_groups/<apiid:id>/components",
        views.AccessGroupComponents.as_view(),
        name="access-group-components",
    ),
    path(
        f"{P}/page_access_groups/<apiid:id>/components/<apiid:component_id>",
        views.AccessGroupComponent.as_view(),
        name="access-group-component",
    ),
    path(f"{P}/page_access_users", views.AccessUserList.as_view(), name="access-users"),
    path(
        f"{P}/page_access_users/<apiid:id>",
        views.AccessUserDetail.as_view(),
        name="access-user",
    ),
    path(f"{P}/alertmanager", alerts.AlertmanagerWebhook.as_view(), name="alertmanager"),
    path(f"{P}/grafana", alerts.GrafanaWebhook.as_view(), name="grafana"),
    path(f"{P}/audit-log", views.AuditLog.as_view(), name="audit-log"),
    # Anything else under /api/v1/ is a JSON 404, even a path with a line break in it.
    re_path(r"^[\s\S]*$", not_found),
]
