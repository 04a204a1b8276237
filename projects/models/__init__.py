"""The studio's data, one module per domain. Import models from here:
``from projects.models import Version``."""

from projects.models.api import ApiToken, IdempotencyRecord
from projects.models.budget import BudgetMonth
from projects.models.guests import GuestLink
from projects.models.inbox import InboxSettings, Notification, NotificationQuerySet
from projects.models.operations import (
    EngineThrottle,
    HousekeepingRun,
    QuotaUse,
    WorkerHeartbeat,
)
from projects.models.replays import Replay
from projects.models.review import Activity, Comment, CommentQuerySet, Presence, Review
from projects.models.sequences import Sequence, SequenceClip, SequenceRender
from projects.models.team import Invitation, Membership, Workspace, WorkspaceQuerySet
from projects.models.webhooks import WebhookDelivery, WebhookEndpoint
from projects.models.work import Asset, Project, ProjectQuerySet, Version, VersionQuerySet

# The largest id a row can have (a signed 64-bit key): a bigger one in a
# request is refused or finds nothing, rather than overflowing the database.
MAX_ID = 2**63 - 1

__all__ = [
    "MAX_ID",
    "Activity",
    "ApiToken",
    "Asset",
    "BudgetMonth",
    "Comment",
    "CommentQuerySet",
    "EngineThrottle",
    "GuestLink",
    "HousekeepingRun",
    "IdempotencyRecord",
    "InboxSettings",
    "Invitation",
    "Membership",
    "Notification",
    "NotificationQuerySet",
    "Presence",
    "Project",
    "ProjectQuerySet",
    "QuotaUse",
    "Replay",
    "Review",
    "Sequence",
    "SequenceClip",
    "SequenceRender",
    "Version",
    "VersionQuerySet",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerHeartbeat",
    "Workspace",
    "WorkspaceQuerySet",
]
