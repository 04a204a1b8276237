"""Version trees of a given shape and size, built in a few bulk queries: for
the query-count tests and the project page's benchmark.

Shapes: "chain" (each version edits the last), "wide" (one root, every other
version edits it) and "bushy" (each edits one of the last few, a new root
every 7th). Like a month of real work: 80 % ready, 10 % generating, 10 %
failed; with reviews on every 10th version, and comments and decisions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from projects.models import Comment, Membership, Project, Review, Version

SHAPES = ("chain", "wide", "bushy")
STATUSES = [Version.Status.READY] * 8 + [Version.Status.GENERATING, Version.Status.FAILED]


def parent_number(shape: str, number: int) -> int | None:
    if number == 1:
        return None
    if shape == "chain":
        return number - 1
    if shape == "wide":
        return 1
    if number % 7 == 0:
        return None
    return max(1, number - (number % 4 + 1))


def build_tree(membership: Membership, *, shape: str, size: int, title: str = "") -> Project:
    project = Project.objects.create(
        workspace=membership.workspace,
        title=title or f"{shape} of {size}",
        default_engine="local",
        created_by=membership.user,
    )
    now = timezone.now()
    versions = [
        Version(
            project=project,
            number=number,
            kind=Version.Kind.EDIT if parent_number(shape, number) else Version.Kind.TEXT_TO_VIDEO,
            prompt=f"Version {number}: make it a little warmer. Keep everything else the same.",
            instruction="Make it a little warmer" if parent_number(shape, number) else "",
            aspect_ratio="16:9",
            resolution="720p",
            duration_seconds=5,
            engine="local",
            model="local-1",
            status=STATUSES[number % len(STATUSES)],
            progress=0.5,
            event_seq=number,
            created_seq=number,
            submitted_at=now - timedelta(seconds=30),
            finished_at=now if STATUSES[number % len(STATUSES)] != "generating" else None,
            author=membership.user,
        )
        for number in range(1, size + 1)
    ]
    Version.objects.bulk_create(versions, batch_size=500)
    by_number = dict(project.versions.values_list("number", "pk"))
    for version in versions:
        version.pk = by_number[version.number]
        parent = parent_number(shape, version.number)
        version.parent_id = by_number[parent] if parent else None
    Version.objects.bulk_update(versions, ["parent"], batch_size=500)
    reviewed = [v for v in versions if v.number % 10 == 0]
    Review.objects.bulk_create(
        Review(
            version=v,
            reviewer=membership.user,
            decision=Review.Decision.APPROVED
            if v.number % 20
            else Review.Decision.CHANGES_REQUESTED,
            note="Looks right",
        )
        for v in reviewed
    )
    Comment.objects.bulk_create(
        Comment(
            version=v, author=membership.user, body=f"Comment on v{v.number}", start_seconds=1.0
        )
        for v in reviewed
    )
    Project.objects.filter(pk=project.pk).update(last_version_number=size, event_seq=size)
    project.refresh_from_db()
    return project
