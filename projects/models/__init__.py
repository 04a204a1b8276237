"""The studio's data, one module per domain. Import models from here:
``from projects.models import Version``."""

from projects.models.api import ApiToken, IdempotencyRecord
from projects.models.budget import BudgetMonth
from projects.models.operations import EngineThrottle, HousekeepingRun, WorkerHeartbeat
from projects.models.review import Activity, Comment, CommentQuerySet, Presence, Review
from projects.models.team import Invitation, Membership, Workspace, WorkspaceQuerySet
from projects.models.work import Asset, Project, ProjectQuerySet, Version, VersionQuerySet

__all__ = [
    "Activity",
    "ApiToken",
    "Asset",
    "BudgetMonth",
    "Comment",
    "CommentQuerySet",
    "EngineThrottle",
    "HousekeepingRun",
    "IdempotencyRecord",
    "Invitation",
    "Membership",
    "Presence",
    "Project",
    "ProjectQuerySet",
    "Review",
    "Version",
    "VersionQuerySet",
    "WorkerHeartbeat",
    "Workspace",
    "WorkspaceQuerySet",
]
