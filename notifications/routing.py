"""Websocket routes (mounted by statuspage.asgi)."""

from django.urls import path, re_path

from .consumers import NotFoundConsumer, PageConsumer

websocket_urlpatterns = [
    path("ws/pages/<slug:slug>/", PageConsumer.as_asgi()),
    # Any other path: closed with 4404, not the router's "No route found" 500.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
