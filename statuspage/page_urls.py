"""Routes of one public page, mounted both at /p/<slug>/ and at / (custom host or default)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.status_page, name="status"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("history/", views.history_page, name="history"),
    path("history/<int:year>/<int:month>/", views.history_page, name="history-month"),
    # The live sections as JSON (ETag = page version): the page's script catches up or polls.
    path("live.json", views.live_json, name="live"),
]
