from django.urls import path

from projects import api_views, views

urlpatterns = [
    path("", views.project_list, name="project_list"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/rename/", views.project_rename, name="project_rename"),
    path("projects/<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("projects/<int:project_id>/composer/", views.composer, name="composer"),
    path("projects/<int:project_id>/estimate/", views.cost_estimate, name="cost_estimate"),
    path("projects/<int:project_id>/upload/", views.version_upload, name="version_upload"),
    path(
        "workspaces/<int:workspace_id>/settings/",
        views.workspace_settings,
        name="workspace_settings",
    ),
    path("projects/<int:project_id>/generate/", views.version_generate, name="version_generate"),
    path("projects/<int:project_id>/updates/", views.project_updates, name="project_updates"),
    path("projects/<int:project_id>/compare/", views.compare, name="compare"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("settings/tokens/", api_views.api_tokens, name="api_tokens"),
    path("settings/tokens/new/", api_views.api_token_create, name="api_token_create"),
    path(
        "settings/tokens/<int:token_id>/revoke/",
        api_views.api_token_revoke,
        name="api_token_revoke",
    ),
    path(
        "projects/<int:project_id>/comments/<int:comment_id>/edit/",
        views.comment_edit,
        name="comment_edit",
    ),
    path(
        "projects/<int:project_id>/comments/<int:comment_id>/delete/",
        views.comment_delete,
        name="comment_delete",
    ),
    path(
        "projects/<int:project_id>/comments/<int:comment_id>/resolve/",
        views.comment_resolve,
        name="comment_resolve",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/comments/",
        views.comment_create,
        name="comment_create",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/comments/to-edit/",
        views.comments_to_edit,
        name="comments_to_edit",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/reviews/",
        views.review_create,
        name="review_create",
    ),
    path("projects/<int:project_id>/v/<int:number>/pick/", views.version_pick, name="version_pick"),
    path(
        "projects/<int:project_id>/v/<int:number>/provenance.json",
        views.version_provenance,
        name="version_provenance",
    ),
    path(
        "projects/<int:project_id>/assets/<int:asset_id>/",
        views.asset_media,
        name="asset_media",
    ),
    path("projects/<int:project_id>/v/<int:number>/", views.project_detail, name="version_detail"),
    path("projects/<int:project_id>/v/<int:number>/edit/", views.version_edit, name="version_edit"),
    path(
        "projects/<int:project_id>/v/<int:number>/cancel/",
        views.version_cancel,
        name="version_cancel",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/retry/", views.version_retry, name="version_retry"
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/reconcile/",
        views.version_reconcile,
        name="version_reconcile",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/video.mp4",
        views.version_media,
        {"what": "video"},
        name="version_video",
    ),
    path(
        "projects/<int:project_id>/v/<int:number>/poster.jpg",
        views.version_media,
        {"what": "poster"},
        name="version_poster",
    ),
]
