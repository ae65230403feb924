"""URLs: the admin, the APIs, and the public pages (by slug, or by the request's host)."""

from django.contrib import admin
from django.urls import include, path

from incidents.api import converters  # noqa: F401  (registers the `apiid` path converter)
from notifications.api import views as subscriber_api
from statuspage.accounts import views as accounts

from . import health, my_views, views

urlpatterns = [
    # Engineers sign in through allauth (local account or SSO, then the second factor).
    path("admin/login/", accounts.admin_login),
    path("accounts/login/", accounts.SignInView.as_view()),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    # For load balancers and monitoring: the process is up / each part can serve.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("language/<str:code>/", views.choose_language, name="choose-language"),
    # The management API (Statuspage v1 compatible) with its schema and docs; subscribers
    # belong to the notifications app.
    path(
        "api/v1/pages/<str:page_id>/subscribers",
        subscriber_api.SubscriberList.as_view(),
        name="api-subscribers",
    ),
    path(
        "api/v1/pages/<str:page_id>/subscribers/<apiid:subscriber_id>",
        subscriber_api.SubscriberDetail.as_view(),
        name="api-subscriber",
    ),
    path("api/v1/", include("incidents.api.urls")),
    # The customer view (issue 16): passwordless sign-in, the company's overview, wall link.
    path("my/", my_views.overview, name="my"),
    path("my/sections/", my_views.sections, name="my-sections"),
    path("my/incidents/<int:pk>/", my_views.incident, name="my-incident"),
    path("my/sign-in/", my_views.sign_in, name="my-sign-in"),
    path("my/sign-in/sent/", my_views.sign_in_sent, name="my-sign-in-sent"),
    path("my/link/", my_views.follow_link, name="my-link"),
    path("my/sign-out/", my_views.sign_out, name="my-sign-out"),
    path("my/wall/<str:token>/", my_views.wall, name="my-wall"),
    # One page by slug, and the same routes at the root for a custom host or the default page.
    path("p/<slug:slug>/", include(("statuspage.page_urls", "page"), namespace="by-slug")),
    path("", include(("statuspage.page_urls", "page"), namespace="by-host")),
]
