"""The API's review: timecoded comments and replies (edited, resolved and
deleted), decisions, and the project's pick."""

from django.http import Http404, HttpRequest
from ninja import Router, Status

from projects.api import presenters
from projects.api.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    ProjectId,
    RowId,
    VersionNumber,
    project_of,
    refuse,
    version_of,
)
from projects.api.errors import ApiError
from projects.api.schemas import (
    CommentCreateIn,
    CommentEditIn,
    CommentOut,
    CommentResolveIn,
    ErrorOut,
    PickIn,
    PickOut,
    ReviewCreateIn,
    ReviewOut,
)
from projects.models import Comment
from projects.services import review
from projects.services.errors import StudioError

router = Router(tags=["review"])


@router.get(
    "/projects/{project_id}/versions/{number}/comments",
    response={200: list[CommentOut], **READ_ERRORS},
)
def comment_list(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version's comments in time order (untimed last); replies name their parent."""
    version, _ = version_of(request, project_id, number)
    comments = version.comments.in_time_order().select_related("author")
    return [presenters.comment_out(c, version_number=version.number) for c in comments]


@router.post(
    "/projects/{project_id}/versions/{number}/comments",
    response={201: CommentOut, 400: ErrorOut, **WRITE_ERRORS},
)
def comment_create(
    request: HttpRequest,
    payload: CommentCreateIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
):
    """Comment on a version, at a time (`start_seconds`) or over a range (and
    `end_seconds`), or reply to a comment. Everyone but viewers."""
    version, membership = version_of(request, project_id, number)
    parent = None
    if payload.parent is not None:
        parent = Comment.objects.filter(pk=payload.parent, version=version).first()
        if parent is None:
            raise refuse("parent", f"There is no comment {payload.parent} on v{version.number}.")
    comment = review.comment_create(
        version=version,
        membership=membership,
        body=payload.body,
        start_seconds=payload.start_seconds,
        end_seconds=payload.end_seconds,
        parent=parent,
        annotation=[shape.model_dump() for shape in payload.annotation],
    )
    return Status(201, presenters.comment_out(comment, version_number=version.number))


@router.get(
    "/projects/{project_id}/versions/{number}/reviews",
    response={200: list[ReviewOut], **READ_ERRORS},
)
def review_list(request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber):
    """A version's decisions, newest first."""
    version, _ = version_of(request, project_id, number)
    reviews = version.reviews.select_related("reviewer")
    return [presenters.review_out(r, version_number=version.number) for r in reviews]


@router.post(
    "/projects/{project_id}/versions/{number}/reviews",
    response={201: ReviewOut, 400: ErrorOut, 409: ErrorOut, **WRITE_ERRORS},
)
def review_create(
    request: HttpRequest,
    payload: ReviewCreateIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
):
    """Approve a ready version or request changes (reviewers and owners).
    Approving resolves the comments the version was made to address."""
    version, membership = version_of(request, project_id, number)
    try:
        decision = review.review_decide(
            version=version, membership=membership, decision=payload.decision, note=payload.note
        )
    except StudioError as error:
        if error.field:
            raise
        raise ApiError(409, "conflict", error.message) from error
    return Status(201, presenters.review_out(decision, version_number=version.number))


def _comment(request: HttpRequest, project_id: int, number: int, comment_id: int):
    version, membership = version_of(request, project_id, number)
    comment = version.comments.select_related("author").filter(pk=comment_id).first()
    if comment is None:
        raise Http404(f"There is no comment {comment_id} on v{version.number}.")
    return version, membership, comment


@router.patch(
    "/projects/{project_id}/versions/{number}/comments/{comment_id}",
    response={200: CommentOut, **WRITE_ERRORS},
)
def comment_edit(
    request: HttpRequest,
    payload: CommentEditIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    comment_id: int = RowId,
):
    """Change the words of your own comment."""
    version, membership, comment = _comment(request, project_id, number, comment_id)
    review.comment_edit(comment=comment, membership=membership, body=payload.body)
    return presenters.comment_out(comment, version_number=version.number)


@router.post(
    "/projects/{project_id}/versions/{number}/comments/{comment_id}/resolve",
    response={200: CommentOut, **WRITE_ERRORS},
)
def comment_resolve(
    request: HttpRequest,
    payload: CommentResolveIn,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    comment_id: int = RowId,
):
    """Resolve a comment (`resolved: true`) or reopen it (everyone but viewers)."""
    version, membership, comment = _comment(request, project_id, number, comment_id)
    review.comment_set_resolved(comment=comment, membership=membership, resolved=payload.resolved)
    return presenters.comment_out(comment, version_number=version.number)


@router.delete(
    "/projects/{project_id}/versions/{number}/comments/{comment_id}",
    response={204: None, **WRITE_ERRORS},
)
def comment_delete(
    request: HttpRequest,
    project_id: int = ProjectId,
    number: int = VersionNumber,
    comment_id: int = RowId,
):
    """Delete your own comment (its replies go with it)."""
    _, membership, comment = _comment(request, project_id, number, comment_id)
    review.comment_delete(comment=comment, membership=membership)
    return Status(204, None)


@router.put("/projects/{project_id}/pick", response={200: PickOut, **WRITE_ERRORS})
def project_pick(request: HttpRequest, payload: PickIn, project_id: int = ProjectId):
    """Mark a ready version the project's pick, or clear it with null (owners)."""
    project, membership = project_of(request, project_id)
    version = None
    if payload.version is not None:
        version, _ = version_of(request, project_id, payload.version)
    review.project_pick(project=project, membership=membership, version=version)
    return {"version": payload.version}
