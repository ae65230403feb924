"""The engineers' admin, one module per concept. Every change goes through incidents.services."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import alerts, api_keys, audit, customers, incidents, maintenance, pages, reports  # noqa: F401

admin.site.site_header = _("Status pages: engineers' admin")
admin.site.site_title = _("Status pages admin")
admin.site.index_title = _("Incidents, maintenance and pages")
# The sidebar's model list took a third of the width from the forms; the status board (the
# index) links to every model instead.
admin.site.enable_nav_sidebar = False
