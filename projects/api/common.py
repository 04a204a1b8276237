"""What the API's operation modules share: path, query and header
parameters, the error responses each kind of operation documents, and small
helpers."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from ninja import Header, Path, Query, Status

from projects.api.errors import ApiError
from projects.api.idempotency import HEADER, Created
from projects.api.schemas import MAX_ID, MAX_NUMBER, ErrorOut
from projects.models import Membership, Project, Version
from projects.services import access

IdempotencyKey = Header(
    None,
    alias=HEADER,
    description="Send the same key again to retry safely: the same request gets the same "
    "response and creates nothing twice; the key with a different request is a 422.",
    pattern=r"^[\x21-\x7e]{1,200}$",
)
Limit = Query(50, ge=1, le=200, description="Items per page.")
Offset = Query(0, ge=0, le=10**9, description="Items to skip.")
WorkspaceFilter = Query(None, description="Only this workspace's projects.")
StatusFilter = Query(
    None, description="Only versions in these states (repeat the parameter for several)."
)
RowId = Path(..., ge=1, le=MAX_ID)
ProjectId = RowId
VersionNumber = Path(..., ge=1, le=MAX_NUMBER)

E401 = {401: ErrorOut}
READ_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
# A write can also be refused for its body: not JSON (400), too large (413),
# not application/json (415).
WRITE_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    415: ErrorOut,
    422: ErrorOut,
}
CREATE_ERRORS = WRITE_ERRORS


def request_user(request: HttpRequest) -> AbstractBaseUser:
    return request.auth


def dump(schema, data: dict) -> dict:
    """The JSON a schema makes of data (what an idempotent replay sends)."""
    return schema.model_validate(data).model_dump(mode="json")


def respond(response: HttpResponse, created: Created, location: str | None = None):
    if created.replayed:
        response["Idempotent-Replayed"] = "true"
    if location and created.status == 201:
        response["Location"] = location
    return Status(created.status, created.body)


def refuse(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", message, field=field)


def project_of(request: HttpRequest, project_id: int) -> tuple[Project, Membership]:
    """The caller's project (404 outside their workspaces) and their role there."""
    return access.project_for_user(user=request_user(request), project_id=project_id)


def version_of(request: HttpRequest, project_id: int, number: int) -> tuple[Version, Membership]:
    return access.version_for_user(user=request_user(request), project_id=project_id, number=number)
