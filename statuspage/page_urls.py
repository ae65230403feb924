"""Routes of one public page, mounted both at /p/<slug>/ and at / (custom host or default)."""

from django.urls import path

from notifications import views as notification_views

from . import playbook_views, report_views, views

urlpatterns = [
    path("", views.status_page, name="status"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("history/", views.history_page, name="history"),
    path("history/<int:year>/<int:month>/", views.history_page, name="history-month"),
    # Outage playbook (issue 7): report a problem, the printable handout, the phone line.
    path("report/", report_views.pick, name="report"),
    path("report/known/", report_views.known, name="report-known"),
    path("report/form/", report_views.report_form, name="report-form"),
    path("report/sent/", report_views.sent, name="report-sent"),
    path("handout/", playbook_views.handout_page, name="handout"),
    path("handout.pdf", playbook_views.handout_pdf_view, name="handout-pdf"),
    path("phone.json", playbook_views.phone_json, name="phone-json"),
    path("phone.txt", playbook_views.phone_txt, name="phone-txt"),
    # Email subscriptions (notifications app).
    path("subscribe/", notification_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:signed>/", notification_views.confirm, name="subscribe-confirm"),
    path("subscription/<str:token>/", notification_views.manage, name="subscription"),
    path("unsubscribe/<str:token>/", notification_views.unsubscribe, name="unsubscribe"),
]
