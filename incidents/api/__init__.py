"""The REST API: Statuspage-compatible management API (v1) and public read API (v2)."""
