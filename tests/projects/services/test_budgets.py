"""Monthly budgets: held before paying, refused at the cap, settled to what
the video cost, and never overspent by submissions racing at the edge."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from projects.models import BudgetMonth, Membership, Project, Version
from projects.services import budgets, decisions, versions
from projects.services.errors import StudioError
from tests.factories import MembershipFactory, ProjectFactory

RATE = Decimal("0.10")  # dollars a second at 720p, for the local engine here


@pytest.fixture
def priced(settings):
    settings.STUDIO_PRICE_PER_SECOND = {
        **settings.STUDIO_PRICE_PER_SECOND,
        "local": {"480p": RATE / 2, "720p": RATE, "1080p": RATE * 2},
    }


def generate(project: Project, member: Membership, seconds: int = 5) -> Version:
    return versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt="A kite over a beach, one continuous shot.",
        aspect_ratio="16:9",
        resolution="720p",
        duration_seconds=seconds,
        engine="local",
    )


def committed(project: Project | None = None, *, workspace=None) -> Decimal:
    rows = BudgetMonth.objects.filter(month=budgets.current_month())
    if project is not None:
        rows = rows.filter(project=project)
    else:
        rows = rows.filter(workspace=workspace, project__isnull=True)
    return rows.values_list("committed", flat=True).first() or Decimal(0)


def test_a_generation_over_the_projects_cap_is_refused_before_anything_is_made(
    priced, project, member
):
    budgets.budget_set(membership=member, project=project, monthly_budget=Decimal("1.20"))
    made = [generate(project, member) for _ in range(2)]  # $0.50 each
    assert committed(project) == Decimal("1.00")
    assert [v.budget_held for v in made] == [Decimal("0.50")] * 2

    with pytest.raises(StudioError) as refused:
        generate(project, member)
    assert "would cost about $0.50" in refused.value.message
    assert "$0.20 left of its $1.20 budget" in refused.value.message
    assert Version.objects.count() == 2
    assert committed(project) == Decimal("1.00")
    project.refresh_from_db()
    assert project.last_version_number == 2
    status = budgets.budget_status(project=project)
    assert status.left == Decimal("0.20") and status.capped


def test_the_workspaces_cap_holds_across_its_projects(priced, project, member):
    budgets.budget_set(membership=member, monthly_budget=Decimal("0.80"))
    other = ProjectFactory(workspace=member.workspace)
    generate(project, member)
    with pytest.raises(StudioError) as refused:
        generate(other, member)
    assert "the workspace has $0.30 left of its $0.80 budget" in refused.value.message
    assert committed(workspace=member.workspace) == Decimal("0.50")
    assert committed(other) == Decimal(0)


def test_only_owners_set_budgets(project, db):
    editor = MembershipFactory(workspace=project.workspace, role="editor")
    with pytest.raises(Exception, match="Only the workspace's owners"):
        budgets.budget_set(membership=editor, project=project, monthly_budget=Decimal(5))
    project.refresh_from_db()
    assert project.monthly_budget is None


def test_the_hold_becomes_what_the_video_cost_and_a_cancel_releases_it(
    priced, project, member, tasks
):
    budgets.budget_set(membership=member, project=project, monthly_budget=Decimal(10))
    ready = generate(project, member, seconds=4)
    tasks()
    ready.refresh_from_db()
    assert ready.status == Version.Status.READY, ready.error_message
    # The rendered clip's own length decides the bill.
    assert ready.cost == RATE * round(ready.video_duration) == ready.budget_held
    assert committed(project) == ready.cost
    assert committed(workspace=member.workspace) == ready.cost

    cancelled = generate(project, member)
    assert committed(project) == ready.cost + Decimal("0.50")
    decisions.version_cancel(version=cancelled, membership=member)
    cancelled.refresh_from_db()
    assert cancelled.budget_held == 0
    assert committed(project) == ready.cost


def test_a_retry_holds_again_and_is_refused_when_it_no_longer_fits(priced, project, member):
    version = generate(project, member)
    Version.objects.filter(pk=version.pk).update(
        status=Version.Status.FAILED, error_kind="unavailable", finished_at=timezone.now()
    )
    version.refresh_from_db()
    budgets.budget_settle(version=version, cost=Decimal(0))
    assert committed(project) == 0
    budgets.budget_set(membership=member, project=project, monthly_budget=Decimal("0.40"))
    with pytest.raises(StudioError, match=r"left of its \$0.40 budget"):
        decisions.version_retry(version=version, membership=member)
    version.refresh_from_db()
    assert version.status == Version.Status.FAILED and committed(project) == 0
    budgets.budget_set(membership=member, project=project, monthly_budget=Decimal("0.50"))
    decisions.version_retry(version=version, membership=member)
    version.refresh_from_db()
    assert version.status == Version.Status.QUEUED and committed(project) == Decimal("0.50")


@pytest.mark.django_db(transaction=True)
def test_submissions_racing_at_the_edge_of_the_cap_never_overspend(settings):
    settings.STUDIO_PRICE_PER_SECOND = {
        **settings.STUDIO_PRICE_PER_SECOND,
        "local": {"480p": RATE, "720p": RATE, "1080p": RATE},
    }
    member = MembershipFactory(role="owner")
    project = ProjectFactory(workspace=member.workspace, monthly_budget=Decimal("1.50"))
    racers = 12
    start = threading.Barrier(racers)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            start.wait()
            generate(project, member)
            outcomes.append("made")
        except StudioError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["made"] * 3 + ["refused"] * (racers - 3)
    assert Version.objects.filter(project=project).count() == 3
    assert committed(project) == Decimal("1.50")
    assert sum(Version.objects.values_list("budget_held", flat=True)) == Decimal("1.50")
