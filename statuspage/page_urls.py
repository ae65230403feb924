"""Routes of one public page, mounted both at /p/<slug>/ and at / (custom host or default)."""

from django.urls import path

from notifications import views as notification_views

from . import views

urlpatterns = [
    path("", views.status_page, name="status"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("history/", views.history_page, name="history"),
    path("history/<int:year>/<int:month>/", views.history_page, name="history-month"),
    # Email subscriptions (notifications app).
    path("subscribe/", notification_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:signed>/", notification_views.confirm, name="subscribe-confirm"),
    path("subscription/<str:token>/", notification_views.manage, name="subscription"),
    path("unsubscribe/<str:token>/", notification_views.unsubscribe, name="unsubscribe"),
]
