"""The management API, Statuspage v1 in paths, bodies and vocabulary; `{page_id}` is a slug.

One module per resource (pages, components, groups, incidents, maintenance, templates,
postmortems, audit log; alert webhooks in `incidents.api.alerts`, subscribers in
`notifications.api`), all built on `base.ManageView`. Names are re-exported here for the URL
configuration and for other apps' endpoints.
"""

from .audiences import (
    AccessGroupComponent,
    AccessGroupComponents,
    AccessGroupDetail,
    AccessGroupList,
    AccessUserDetail,
    AccessUserList,
)
from .audit import AuditLog
from .base import (
    IDEMPOTENCY,
    MAX_PER_PAGE,
    PAGING,
    READ_ERRORS,
    WRITE_ERRORS,
    ManageView,
    api_id,
    incidents_of,
)
from .components import ComponentDetail, ComponentList
from .groups import GroupDetail, GroupList, groups_of
from .incidents import (
    IncidentDetail,
    IncidentList,
    IncidentUpdateDetail,
    UnresolvedIncidents,
)
from .maintenance import ActiveMaintenance, ScheduledIncidents, UpcomingIncidents
from .pages import PageDetail, PageList
from .postmortems import (
    PostmortemDetail,
    PostmortemHistory,
    PostmortemPublish,
    PostmortemRevert,
)
from .templates import TemplateList

__all__ = [
    "AccessGroupComponent",
    "AccessGroupComponents",
    "AccessGroupDetail",
    "AccessGroupList",
    "AccessUserDetail",
    "AccessUserList",
    "IDEMPOTENCY",
    "MAX_PER_PAGE",
    "PAGING",
    "READ_ERRORS",
    "WRITE_ERRORS",
    "ActiveMaintenance",
    "AuditLog",
    "ComponentDetail",
    "ComponentList",
    "GroupDetail",
    "GroupList",
    "IncidentDetail",
    "IncidentList",
    "IncidentUpdateDetail",
    "ManageView",
    "PageDetail",
    "PageList",
    "PostmortemDetail",
    "PostmortemHistory",
    "PostmortemPublish",
    "PostmortemRevert",
    "ScheduledIncidents",
    "TemplateList",
    "UnresolvedIncidents",
    "UpcomingIncidents",
    "groups_of",
    "api_id",
    "incidents_of",
]
