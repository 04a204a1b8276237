"""The estimates behind progress bars and a worker's next poll."""

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from projects.models import Version
from projects.services import progress
from tests.factories import ProjectFactory, VersionFactory


def test_a_worker_looks_for_an_unknown_estimate_once_and_learns_the_first_one(
    db, django_assert_num_queries
):
    project = ProjectFactory()
    now = timezone.now()
    waiting = VersionFactory(
        project=project, number=1, status=Version.Status.GENERATING, submitted_at=now
    )
    with django_assert_num_queries(1):
        assert progress.typical_seconds(waiting) is None
    # The other polls of the same second take the "nothing yet" on trust.
    with django_assert_num_queries(0):
        for _ in range(20):
            assert progress.typical_seconds(waiting) is None

    VersionFactory(
        project=project,
        number=2,
        submitted_at=now - timedelta(seconds=12),
        finished_at=now - timedelta(seconds=2),
    )
    # As when that second is over.
    cache.delete(progress._cache_key(progress.duration_key(waiting)) + ":looked")
    with django_assert_num_queries(1):
        assert progress.typical_seconds(waiting) == 10
    with django_assert_num_queries(0):
        assert progress.typical_seconds(waiting) == 10
