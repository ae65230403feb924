"""Websocket routes (mounted by statuspage.asgi)."""

from channels.auth import AuthMiddlewareStack
from django.urls import path, re_path

from .consumers import CustomerConsumer, NotFoundConsumer, PageConsumer

websocket_urlpatterns = [
    path("ws/pages/<slug:slug>/", PageConsumer.as_asgi()),
    # The customer view: the session (cookie) names the signed-in customer; only this route
    # reads it, the public pages' sockets stay anonymous.
    path("ws/my/", AuthMiddlewareStack(CustomerConsumer.as_asgi())),
    # Any other path: closed with 4404, not the router's "No route found" 500.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
