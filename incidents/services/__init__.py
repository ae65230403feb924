"""Every state change of the domain: the one door that the admin, the API and the clock use.

Each function validates, writes in one transaction (with history), bumps the page version and
publishes one domain event after commit. Split by concept; import from here.
"""

from . import rules
from .alerts import (
    dismiss_alert_draft,
    publish_alert_draft,
    receive_alerts,
    restore_resolved_alerts,
    save_alert_rule,
)
from .api_keys import change_api_key, create_api_key, revoke_api_key
from .audit import Actor, as_actor
from .base import ServiceError, System, TransitionError, publish_event
from .components import (
    bulk_set_component_status,
    create_component,
    delete_component,
    delete_group,
    replace_support_hours,
    save_group,
    save_page,
    set_component_status,
    touch_page,
    update_component,
)
from .imports import (
    PastIncident,
    PastUpdate,
    import_component_history,
    import_incident,
    record_import,
)
from .incident_changes import update_incident
from .incidents import (
    change_incident,
    delete_incident,
    edit_update,
    open_incident,
    post_update,
    reopen_incident,
    resolve_incident,
)
from .maintenance import (
    cancel_maintenance,
    change_maintenance,
    complete_maintenance,
    extend_maintenance,
    reschedule_maintenance,
    run_maintenance_clock,
    schedule_maintenance,
    start_maintenance,
)
from .postmortems import (
    PostmortemStep,
    postmortem_history,
    publish_postmortem,
    revert_postmortem,
    save_postmortem_draft,
)
from .templates import save_incident_template
from .uptime import roll_up_component, roll_up_uptime

__all__ = [
    "PastIncident",
    "PastUpdate",
    "Actor",
    "as_actor",
    "change_api_key",
    "create_api_key",
    "revoke_api_key",
    "rules",
    "ServiceError",
    "System",
    "TransitionError",
    "bulk_set_component_status",
    "cancel_maintenance",
    "change_maintenance",
    "dismiss_alert_draft",
    "publish_alert_draft",
    "receive_alerts",
    "restore_resolved_alerts",
    "change_incident",
    "complete_maintenance",
    "create_component",
    "delete_component",
    "delete_group",
    "delete_incident",
    "edit_update",
    "extend_maintenance",
    "import_component_history",
    "import_incident",
    "record_import",
    "open_incident",
    "post_update",
    "publish_event",
    "PostmortemStep",
    "postmortem_history",
    "publish_postmortem",
    "reopen_incident",
    "replace_support_hours",
    "reschedule_maintenance",
    "revert_postmortem",
    "schedule_maintenance",
    "start_maintenance",
    "resolve_incident",
    "roll_up_component",
    "roll_up_uptime",
    "run_maintenance_clock",
    "save_alert_rule",
    "save_group",
    "save_incident_template",
    "save_postmortem_draft",
    "save_page",
    "set_component_status",
    "touch_page",
    "update_component",
    "update_incident",
]
