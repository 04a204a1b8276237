from django.contrib import admin

from projects.models import (
    Asset,
    HousekeepingRun,
    Membership,
    Project,
    Version,
    WorkerHeartbeat,
    Workspace,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "region", "created_at"]
    inlines = [MembershipInline]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "workspace", "created_at", "updated_at"]
    list_select_related = ["workspace"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["original_name", "project", "kind", "mime_type", "width", "height"]
    list_select_related = ["project"]


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "engine", "interaction_id", "created_at"]
    list_filter = ["status", "kind", "engine"]
    list_select_related = ["project"]
    raw_id_fields = ["parent", "project", "author", "input_assets"]


@admin.register(HousekeepingRun)
class HousekeepingRunAdmin(admin.ModelAdmin):
    list_display = ["job", "last_run_at", "next_run_at", "last_worker_id", "last_summary"]
    readonly_fields = ["job", "last_run_at", "last_worker_id", "last_summary"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "host", "pid", "seen_at"]
    ordering = ["-seen_at"]
