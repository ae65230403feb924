"""`/pages/{page_id}/page_access_groups` and `/page_access_users`: Statuspage's audiences.

A group is a customer whose home page is this page; its `component_ids` are the services it uses
on this page. A user is an invited address of one of those customers, who can then sign in.
Assigning a component never changes its visibility (set `visibility` on the component).
Another page's groups and users are not found here, whatever id is tried.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from incidents.models import Component, Customer, CustomerMember, Page
from incidents.services import ServiceError
from incidents.services import customers as services

from .. import serializers as s
from ..idempotency import idempotent
from .base import IDEMPOTENCY, PAGING, READ_ERRORS, WRITE_ERRORS, ManageView, api_id

GROUPS = ["Page access groups"]
USERS = ["Page access users"]


def access_groups_of(page: Page):
    """The page's customers with what the serializer reads: 3 queries for any number."""
    components = Component.objects.filter(page=page).order_by("position", "id")
    return (
        Customer.objects.filter(page=page)
        .prefetch_related(
            Prefetch("components", queryset=components.only("id", "public_id", "page_id"),
                     to_attr="page_components"),
            Prefetch("members", queryset=CustomerMember.objects.order_by("email")),
        )
        .order_by("name", "id")
    )  # fmt: skip


def access_users_of(page: Page):
    return (
        CustomerMember.objects.filter(customer__page=page)
        .select_related("customer")
        .order_by("email", "id")
    )


class AudienceView(ManageView):
    def access_group(self, group_id) -> Customer:
        return self.object_or_404(access_groups_of(self.page), group_id)

    def access_group_or_error(self, group_id, *, field: str = "page_access_group_ids") -> Customer:
        found = Customer.objects.filter(page=self.page).filter(api_id(group_id)).first()
        if found is None:
            raise ServiceError(
                f"No page access group with id {str(group_id)[:40]} on this page.",
                code="unknown_group",
                field=field,
            )
        return found

    def components(self, ids) -> list[Component]:
        return list(self.components_by_id(ids, field="component_ids").values())

    def group_data(self, customer: Customer) -> dict:
        fresh = access_groups_of(self.page).get(pk=customer.pk)
        return s.PageAccessGroupSerializer(fresh, context=self.context()).data


class AccessGroupList(AudienceView):
    @extend_schema(
        operation_id="getPageAccessGroups",
        parameters=PAGING,
        responses={200: s.PageAccessGroupSerializer(many=True), **READ_ERRORS},
        tags=GROUPS,
    )
    def get(self, request, page_id):
        groups = self.paginate(access_groups_of(self.page))
        return Response(s.PageAccessGroupSerializer(groups, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="postPageAccessGroup",
        request=s.PageAccessGroupBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    @idempotent
    def post(self, request, page_id):
        data = self.read(s.PageAccessGroupBody)["page_access_group"]
        customer = services.create_access_group(
            self.page,
            actor=request.auth,
            name=data["name"],
            code=data.get("external_identifier") or "",
            components=self.components(data.get("component_ids", [])),
        )
        return Response(self.group_data(customer), status=status.HTTP_201_CREATED)


class AccessGroupDetail(AudienceView):
    @extend_schema(
        operation_id="getPageAccessGroup",
        responses={200: s.PageAccessGroupSerializer, **READ_ERRORS},
        tags=GROUPS,
    )
    def get(self, request, page_id, id):
        group = self.access_group(id)
        return Response(s.PageAccessGroupSerializer(group, context=self.context()).data)

    @extend_schema(
        operation_id="patchPageAccessGroup",
        request=s.PageAccessGroupBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def patch(self, request, page_id, id):
        group = self.access_group(id)
        data = self.read(s.PageAccessGroupBody, partial=True).get("page_access_group", {})
        customer = services.change_access_group(
            group,
            page=self.page,
            actor=request.auth,
            name=data.get("name"),
            code=data.get("external_identifier") or None,
            components=self.components(data["component_ids"]) if "component_ids" in data else None,
        )
        return Response(self.group_data(customer))

    @extend_schema(
        operation_id="putPageAccessGroup",
        request=s.PageAccessGroupBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def put(self, request, page_id, id):
        return self.patch(request, page_id, id)

    @extend_schema(
        operation_id="deletePageAccessGroup",
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def delete(self, request, page_id, id):
        group = self.access_group(id)
        data = s.PageAccessGroupSerializer(group, context=self.context()).data
        services.delete_access_group(group, page=self.page, actor=request.auth)
        return Response(data)


class AccessGroupComponents(AudienceView):
    """Statuspage's `page_access_groups/{id}/components`: PUT or PATCH add, POST replaces,
    DELETE (with `component_ids`) removes; GET lists the group's components of this page."""

    @extend_schema(
        operation_id="getPageAccessGroupComponents",
        parameters=PAGING,
        responses={200: s.ComponentSerializer(many=True), **READ_ERRORS},
        tags=GROUPS,
    )
    def get(self, request, page_id, id):
        group = self.access_group(id)
        components = self.paginate(
            Component.objects.filter(page=self.page, customers=group)
            .select_related("group")
            .order_by("position", "id")
        )
        return Response(s.ComponentSerializer(components, many=True, context=self.context()).data)

    def _change(self, request, id, mode: str):
        group = self.access_group(id)
        ids = self.read(s.PageAccessGroupComponentsBody)["component_ids"]
        chosen = self.components(ids)
        changes = {"components": chosen} if mode == "replace" else {mode: chosen}
        customer = services.change_access_group(
            group, page=self.page, actor=request.auth, **changes
        )
        return Response(self.group_data(customer))

    @extend_schema(
        operation_id="patchPageAccessGroupComponents",
        request=s.PageAccessGroupComponentsBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def patch(self, request, page_id, id):
        return self._change(request, id, "add")

    @extend_schema(
        operation_id="putPageAccessGroupComponents",
        request=s.PageAccessGroupComponentsBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def put(self, request, page_id, id):
        return self._change(request, id, "add")

    @extend_schema(
        operation_id="postPageAccessGroupComponents",
        request=s.PageAccessGroupComponentsBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def post(self, request, page_id, id):
        return self._change(request, id, "replace")

    @extend_schema(
        operation_id="deletePageAccessGroupComponents",
        request=s.PageAccessGroupComponentsBody,
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def delete(self, request, page_id, id):
        return self._change(request, id, "remove")


class AccessGroupComponent(AudienceView):
    @extend_schema(
        operation_id="deletePageAccessGroupComponent",
        responses={200: s.PageAccessGroupSerializer, **WRITE_ERRORS},
        tags=GROUPS,
    )
    def delete(self, request, page_id, id, component_id):
        group = self.access_group(id)
        component = self.object_or_404(Component.objects.filter(page=self.page), component_id)
        customer = services.change_access_group(
            group, page=self.page, actor=request.auth, remove=[component]
        )
        return Response(self.group_data(customer))


class AccessUserList(AudienceView):
    @extend_schema(
        operation_id="getPageAccessUsers",
        parameters=PAGING,
        responses={200: s.PageAccessUserSerializer(many=True), **READ_ERRORS},
        tags=USERS,
    )
    def get(self, request, page_id):
        users = self.paginate(access_users_of(self.page))
        return Response(s.PageAccessUserSerializer(users, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="postPageAccessUser",
        request=s.PageAccessUserBody,
        parameters=[IDEMPOTENCY],
        responses={201: s.PageAccessUserSerializer, **WRITE_ERRORS},
        tags=USERS,
    )
    @idempotent
    def post(self, request, page_id):
        data = self.read(s.PageAccessUserBody)["page_access_user"]
        group_id = (data.get("page_access_group_ids") or [None])[0] or data.get(
            "page_access_group_id"
        )
        if group_id is None:
            raise ServiceError(
                "Name the person's page access group (one: a person belongs to one customer).",
                code="required",
                field="page_access_group_ids",
            )
        member = services.create_access_user(
            self.page,
            actor=request.auth,
            email=data["email"],
            customer=self.access_group_or_error(group_id),
        )
        member = access_users_of(self.page).get(pk=member.pk)
        return Response(
            s.PageAccessUserSerializer(member, context=self.context()).data,
            status=status.HTTP_201_CREATED,
        )


class AccessUserDetail(AudienceView):
    def access_user(self, user_id) -> CustomerMember:
        return self.object_or_404(access_users_of(self.page), user_id)

    @extend_schema(
        operation_id="getPageAccessUser",
        responses={200: s.PageAccessUserSerializer, **READ_ERRORS},
        tags=USERS,
    )
    def get(self, request, page_id, id):
        member = self.access_user(id)
        return Response(s.PageAccessUserSerializer(member, context=self.context()).data)

    @extend_schema(
        operation_id="patchPageAccessUser",
        request=s.PageAccessUserBody,
        responses={200: s.PageAccessUserSerializer, **WRITE_ERRORS},
        tags=USERS,
    )
    def patch(self, request, page_id, id):
        member = self.access_user(id)
        data = self.read(s.PageAccessUserBody, partial=True).get("page_access_user", {})
        group_id = (data.get("page_access_group_ids") or [None])[0] or data.get(
            "page_access_group_id"
        )
        member = services.change_access_user(
            member,
            page=self.page,
            actor=request.auth,
            email=data.get("email"),
            customer=self.access_group_or_error(group_id) if group_id is not None else None,
        )
        member = access_users_of(self.page).get(pk=member.pk)
        return Response(s.PageAccessUserSerializer(member, context=self.context()).data)

    @extend_schema(
        operation_id="putPageAccessUser",
        request=s.PageAccessUserBody,
        responses={200: s.PageAccessUserSerializer, **WRITE_ERRORS},
        tags=USERS,
    )
    def put(self, request, page_id, id):
        return self.patch(request, page_id, id)

    @extend_schema(
        operation_id="deletePageAccessUser",
        responses={200: s.PageAccessUserSerializer, **WRITE_ERRORS},
        tags=USERS,
    )
    def delete(self, request, page_id, id):
        member = self.access_user(id)
        data = s.PageAccessUserSerializer(member, context=self.context()).data
        services.delete_access_user(member, page=self.page, actor=request.auth)
        return Response(data)
