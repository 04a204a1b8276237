"""The admin, for support rather than for bypassing the studio: every model is
here, searchable and filtered, but what the generation life, the ledger and
the schedules own is read-only, and a version is cancelled or retried only
through the same services the pages use."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from projects.models import (
    Activity,
    ApiToken,
    Asset,
    BudgetMonth,
    Comment,
    EngineThrottle,
    GuestLink,
    HousekeepingRun,
    IdempotencyRecord,
    InboxSettings,
    Invitation,
    Membership,
    Notification,
    Presence,
    Project,
    QuotaUse,
    Replay,
    Review,
    Sequence,
    SequenceClip,
    SequenceRender,
    Version,
    WebhookDelivery,
    WebhookEndpoint,
    WorkerHeartbeat,
    Workspace,
)
from projects.services import decisions
from projects.services.errors import StudioError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the studio writes itself: looked at, never edited here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "monthly_budget", "created_at"]
    list_filter = ["region"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]
    raw_id_fields = ["user", "workspace"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "role", "created_by", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["workspace__name"]
    exclude = ["token_digest"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "workspace", "monthly_budget", "created_at", "updated_at"]
    list_select_related = ["workspace"]
    search_fields = ["title", "workspace__name"]
    readonly_fields = ["workspace", "last_version_number", "event_seq", "picked_version"]


@admin.register(Asset)
class AssetAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "project", "kind", "mime_type", "width", "height"]
    list_filter = ["kind"]
    list_select_related = ["project"]
    search_fields = ["original_name", "project__title"]


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status", "engine", "interaction_id", "created_at"]
    list_filter = ["status", "kind", "engine"]
    list_select_related = ["project"]
    search_fields = ["prompt", "interaction_id", "project__title"]
    actions = ["cancel", "retry"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a version's children and provenance hang on it

    def _as_support(self, request, version: Version) -> Membership:
        # The services check a role: support acts as an owner of the version's
        # workspace, in memory only (no membership row is made).
        return Membership(user=request.user, workspace=version.project.workspace, role="owner")

    def _each(self, request, queryset, action, verb: str) -> None:
        done = 0
        for version in queryset.select_related("project__workspace"):
            try:
                action(version=version, membership=self._as_support(request, version))
                done += 1
            except (StudioError, PermissionDenied) as refused:
                message = getattr(refused, "message", str(refused))
                self.message_user(request, f"{version}: {message}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} version{'s' * (done != 1)}.")

    @admin.action(description="Cancel the selected generations")
    def cancel(self, request, queryset) -> None:
        self._each(request, queryset, decisions.version_cancel, "Cancelled")

    @admin.action(description="Retry the selected failed versions")
    def retry(self, request, queryset) -> None:
        self._each(request, queryset, decisions.version_retry, "Retried")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["version", "author", "start_seconds", "resolved_at", "created_at"]
    search_fields = ["body", "author__username"]
    readonly_fields = ["version", "author", "parent", "created_at"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["version", "reviewer", "decision", "created_at"]
    list_filter = ["decision"]
    search_fields = ["note", "reviewer__username"]


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["project", "actor", "verb", "created_at"]
    list_filter = ["verb"]
    search_fields = ["detail", "project__title"]


@admin.register(Presence)
class PresenceAdmin(ReadOnlyAdmin):
    list_display = ["project", "user", "seen_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    exclude = ["token_digest"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["user", "key", "response_status", "created_at"]
    search_fields = ["key", "user__username"]


@admin.register(BudgetMonth)
class BudgetMonthAdmin(ReadOnlyAdmin):
    list_display = ["workspace", "project", "month", "committed"]
    list_filter = ["month"]
    search_fields = ["workspace__name", "project__title"]


@admin.register(EngineThrottle)
class EngineThrottleAdmin(ReadOnlyAdmin):
    list_display = ["account", "until"]
    search_fields = ["account"]


@admin.register(QuotaUse)
class QuotaUseAdmin(ReadOnlyAdmin):
    list_display = ["account", "version", "used_at"]
    search_fields = ["account"]
    ordering = ["-used_at"]


@admin.register(GuestLink)
class GuestLinkAdmin(ReadOnlyAdmin):
    list_display = ["project", "label", "created_by", "expires_at", "revoked_at"]
    search_fields = ["project__title", "label"]
    exclude = ["token_digest", "password"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "recipient",
        "kind",
        "project",
        "version",
        "actor_name",
        "created_at",
        "read_at",
    ]
    list_filter = ["kind"]
    search_fields = ["recipient__username", "text"]


@admin.register(Replay)
class ReplayAdmin(ReadOnlyAdmin):
    list_display = ["project", "base", "status", "author", "created_at", "finished_at"]
    list_filter = ["status"]


@admin.register(InboxSettings)
class InboxSettingsAdmin(ReadOnlyAdmin):
    list_display = ["user", "email_digest", "last_digest_at"]


@admin.register(HousekeepingRun)
class HousekeepingRunAdmin(admin.ModelAdmin):
    list_display = ["job", "last_run_at", "next_run_at", "last_worker_id", "last_summary"]
    readonly_fields = ["job", "last_run_at", "last_worker_id", "last_summary"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["worker_id", "host", "pid", "seen_at"]
    ordering = ["-seen_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "workspace", "consecutive_failures", "disabled_at", "created_at"]
    search_fields = ["url", "workspace__name", "description"]
    exclude = ["secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "response_status", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["endpoint__url", "event"]
    ordering = ["-created_at"]


@admin.register(Sequence)
class SequenceAdmin(ReadOnlyAdmin):
    list_display = ["title", "project", "aspect_ratio", "resolution", "updated_at"]
    list_filter = ["aspect_ratio"]
    search_fields = ["title", "project__title"]


@admin.register(SequenceClip)
class SequenceClipAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "position", "version", "in_seconds", "out_seconds", "transition"]
    list_filter = ["transition"]
    search_fields = ["sequence__title"]


@admin.register(SequenceRender)
class SequenceRenderAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "number", "status", "duration_seconds", "author", "created_at"]
    list_filter = ["status"]
    search_fields = ["sequence__title"]
