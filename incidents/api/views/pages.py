"""`/pages` and `/pages/{page_id}`: the pages a key may see, and their settings."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from incidents import services

from .. import serializers as s
from ..permissions import pages_for_key
from .base import (
    PAGING,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
)


class PageList(ManageView):
    @extend_schema(
        operation_id="getPages",
        parameters=PAGING,
        responses={200: s.PageSerializer(many=True), **READ_ERRORS},
        tags=["Pages"],
    )
    def get(self, request):
        pages = self.paginate(pages_for_key(request.auth).order_by("name", "id"))
        return Response(s.PageSerializer(pages, many=True, context={"request": request}).data)


class PageDetail(ManageView):
    @extend_schema(
        operation_id="getPage", responses={200: s.PageSerializer, **READ_ERRORS}, tags=["Pages"]
    )
    def get(self, request, page_id):
        return Response(s.PageSerializer(self.page, context=self.context()).data)

    @extend_schema(
        operation_id="patchPage",
        request=s.PageBody,
        responses={200: s.PageSerializer, **WRITE_ERRORS},
        tags=["Pages"],
    )
    def patch(self, request, page_id):
        data = self.read(s.PageBody, partial=True).get("page", {})
        page = self.page
        fields = {
            "name": "name",
            "domain": "custom_host",
            "time_zone": "time_zone",
            "page_description": "headline",
            "headline": "headline",
            "css_link_color": "accent_colour",
        }
        for name, attribute in fields.items():
            if name in data:
                setattr(page, attribute, data[name])
        if data:
            page = services.save_page(page, actor=request.auth)
        return Response(s.PageSerializer(page, context=self.context()).data)

    @extend_schema(
        operation_id="putPage",
        request=s.PageBody,
        responses={200: s.PageSerializer, **WRITE_ERRORS},
        tags=["Pages"],
    )
    def put(self, request, page_id):
        return self.patch(request, page_id)
