from django.contrib.auth import views as auth_views
from django.urls import include, path

from projects.views import (
    accounts,
    guests,
    health,
    inbox,
    live,
    media,
    project_page,
    projects,
    replays,
    review,
    sequences,
    team,
    tokens,
    tree,
    webhooks,
)

# /projects/<project_id>/v/<number>/...
version_patterns = [
    path("", project_page.project_detail, name="version_detail"),
    path("edit/", project_page.version_edit, name="version_edit"),
    path("extend/", project_page.version_extend, name="version_extend"),
    path("cancel/", project_page.version_cancel, name="version_cancel"),
    path("retry/", project_page.version_retry, name="version_retry"),
    path("rerun/", project_page.version_rerun, name="version_rerun"),
    path("replay/", replays.version_replay, name="version_replay"),
    path("reconcile/", project_page.version_reconcile, name="version_reconcile"),
    path("video.mp4", media.version_media, {"what": "video"}, name="version_video"),
    path("poster.jpg", media.version_media, {"what": "poster"}, name="version_poster"),
    path("comments/", review.comment_create, name="comment_create"),
    path("comments/to-edit/", review.comments_to_edit, name="comments_to_edit"),
    path("reviews/", review.review_create, name="review_create"),
    path("pick/", review.version_pick, name="version_pick"),
    path("provenance.json", review.version_provenance, name="version_provenance"),
    path("guests/", guests.guest_link_create, name="guest_link_create"),
    path("guests/<int:link_id>/revoke/", guests.guest_link_revoke, name="guest_link_revoke"),
]

# /projects/<project_id>/sequences/<sequence_id>/...
sequence_patterns = [
    path("", sequences.sequence_detail, name="sequence_detail"),
    path("settings/", sequences.sequence_settings, name="sequence_settings"),
    path("clips/add/", sequences.clip_add, name="sequence_clip_add"),
    path("clips/move/", sequences.clip_move, name="sequence_clip_move"),
    path("clips/remove/", sequences.clip_remove, name="sequence_clip_remove"),
    path("clips/change/", sequences.clip_change, name="sequence_clip_change"),
    path("render/", sequences.sequence_render, name="sequence_render"),
    path("r/<int:number>/video.mp4", sequences.render_video, name="sequence_render_video"),
    path("r/<int:number>/comments/", sequences.render_comment, name="sequence_render_comment"),
    path(
        "r/<int:number>/provenance.json",
        sequences.render_provenance,
        name="sequence_render_provenance",
    ),
]

# /projects/<project_id>/...
project_patterns = [
    path("", project_page.project_detail, name="project_detail"),
    path("rename/", projects.project_rename, name="project_rename"),
    path("delete/", projects.project_delete, name="project_delete"),
    path("composer/", project_page.composer_form, name="composer"),
    path("estimate/", project_page.cost_estimate, name="cost_estimate"),
    path("generate/", project_page.version_generate, name="version_generate"),
    path("upload/", project_page.version_upload, name="version_upload"),
    path("updates/", live.project_updates, name="project_updates"),
    path("compare/", review.compare, name="compare"),
    path("tree/children/", tree.tree_children, name="tree_children"),
    path("tree/segment/", tree.tree_segment, name="tree_segment"),
    path("branches/", tree.branch_list, name="branch_list"),
    path("find/", tree.version_find, name="version_find"),
    path("members/", team.member_names, name="member_names"),
    path("assets/<int:asset_id>/", media.asset_media, name="asset_media"),
    path("comments/<int:comment_id>/edit/", review.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", review.comment_delete, name="comment_delete"),
    path("comments/<int:comment_id>/resolve/", review.comment_resolve, name="comment_resolve"),
    path("sequences/", sequences.sequence_list, name="sequence_list"),
    path("sequences/new/", sequences.sequence_create, name="sequence_create"),
    path("sequences/<int:sequence_id>/", include(sequence_patterns)),
    path("v/<int:number>/", include(version_patterns)),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", accounts.signin, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("", projects.project_list, name="project_list"),
    path("projects/new/", projects.project_create, name="project_create"),
    path("projects/<int:project_id>/", include(project_patterns)),
    path(
        "workspaces/<int:workspace_id>/settings/",
        team.workspace_settings,
        name="workspace_settings",
    ),
    path(
        "workspaces/<int:workspace_id>/webhooks/",
        webhooks.webhook_create,
        name="webhook_create",
    ),
    path(
        "workspaces/<int:workspace_id>/webhooks/<int:endpoint_id>/",
        webhooks.webhook_endpoint,
        name="webhook_endpoint",
    ),
    path("invitations/<str:token>/", team.invitation_accept, name="invitation_accept"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/badge/", inbox.inbox_badge, name="inbox_badge"),
    path("inbox/read/", inbox.inbox_mark_read, name="inbox_mark_read"),
    path("inbox/settings/", inbox.inbox_settings, name="inbox_settings"),
    path("inbox/<int:notification_id>/", inbox.notification_open, name="notification_open"),
    path("settings/tokens/", tokens.api_tokens, name="api_tokens"),
    path("settings/tokens/new/", tokens.api_token_create, name="api_token_create"),
    path(
        "settings/tokens/<int:token_id>/revoke/", tokens.api_token_revoke, name="api_token_revoke"
    ),
]

# /review/<token>/...: guest review links, for people without an account.
urlpatterns += [
    path("review/<str:token>/", guests.guest_home, name="guest_home"),
    path("review/<str:token>/status", guests.guest_link_status, name="guest_link_status"),
    path("review/<str:token>/v/<int:number>/", guests.guest_version, name="guest_version"),
    path(
        "review/<str:token>/v/<int:number>/video.mp4",
        guests.guest_media,
        {"what": "video"},
        name="guest_video",
    ),
    path(
        "review/<str:token>/v/<int:number>/poster.jpg",
        guests.guest_media,
        {"what": "poster"},
        name="guest_poster",
    ),
    path(
        "review/<str:token>/v/<int:number>/comments/",
        guests.guest_comment,
        name="guest_comment",
    ),
    path(
        "review/<str:token>/v/<int:number>/decision/",
        guests.guest_decision,
        name="guest_decision",
    ),
]
