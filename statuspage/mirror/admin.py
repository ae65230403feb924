"""Each mirror target's status for engineers: last published copy, last error, next retry."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import MirrorTarget


@admin.register(MirrorTarget)
class MirrorTargetAdmin(admin.ModelAdmin):
    list_display = (
        "url",
        "healthy",
        "published_at",
        "versions",
        "files",
        "uploaded",
        "uploaded_bytes",
        "duration",
        "error",
        "retry_at",
    )
    readonly_fields = [f.name for f in MirrorTarget._meta.fields]
    actions = ["publish_now"]

    @admin.display(boolean=True, description=_("healthy"))
    def healthy(self, obj: MirrorTarget) -> bool:
        return obj.is_healthy

    def has_add_permission(self, request):
        return False  # targets come from MIRROR_TARGETS

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Publish the mirror now"), permissions=["view"])
    def publish_now(self, request, queryset):
        from .publish import schedule_publish

        schedule_publish()
        self.message_user(request, _("A publish of the mirror was queued."), messages.SUCCESS)
