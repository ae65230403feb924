"""Websocket routes (mounted by statuspage.asgi)."""

from django.urls import path

from .consumers import PageConsumer

websocket_urlpatterns = [
    path("ws/pages/<slug:slug>/", PageConsumer.as_asgi()),
]
