"""Subscribers and delivery of domain events over every channel (websocket, email, ...)."""
