"""The `apiid` path converter: an object's public id ("2xb9kq3c8bvf"), or for a transition
its database id in digits. Anything else matches no route (a JSON 404)."""

from django.urls import register_converter

PATTERN = "(?:[a-z0-9]{12}|[0-9]+)"


class ApiIdConverter:
    regex = PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(ApiIdConverter, "apiid")
