"""Monthly budgets in dollars, per project and per workspace.

A generation holds its estimate against both budgets in the transaction that
queues it, by a conditional UPDATE that adds the estimate only while it
still fits under the cap; two submissions at the edge cannot both fit, on
SQLite (one writer at a time) as on PostgreSQL (the second UPDATE waits for
the first's row lock and re-checks the cap). When the version is done its
hold becomes what it cost: the billed seconds of the video the engine
returned, or nothing when it made none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from projects.models import BudgetMonth, Membership, Project, Version, Workspace
from projects.services.access import require
from projects.services.errors import StudioError
from studio.engines.base import FPS

# SQLite keeps decimals as floats: a sum can land a hair above an exact cap.
_ROUNDING = Decimal("0.00005")


@dataclass(frozen=True)
class Budget:
    """One cap and what is committed against it this month."""

    cap: Decimal | None
    committed: Decimal

    @property
    def left(self) -> Decimal | None:
        return None if self.cap is None else max(Decimal(0), self.cap - self.committed)


@dataclass(frozen=True)
class BudgetStatus:
    month: date
    project: Budget
    workspace: Budget

    @property
    def left(self) -> Decimal | None:
        """What the tighter of the two caps leaves; None when neither is set."""
        lefts = [b.left for b in (self.project, self.workspace) if b.left is not None]
        return min(lefts) if lefts else None

    @property
    def capped(self) -> bool:
        return self.left is not None


def current_month() -> date:
    return timezone.localdate().replace(day=1)


def rate_per_second(*, engine: str, resolution: str, fps: float = FPS) -> Decimal:
    """What a second of video costs on the engine at this frame rate: the
    prices are quoted for 24 fps, and the model bills the frames it makes."""
    rate = settings.STUDIO_PRICE_PER_SECOND.get(engine, {}).get(resolution, Decimal(0))
    return rate * round(fps) / FPS


def billed_cost(*, engine: str, resolution: str, seconds: float, fps: float = FPS) -> Decimal:
    """What a video of this length costs on the engine: its rate per second
    times the whole seconds it lasts (at least one)."""
    rate = rate_per_second(engine=engine, resolution=resolution, fps=fps)
    whole = max(1, int(Decimal(str(seconds)).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return (rate * whole).quantize(Decimal("0.0001"))


def budget_status(*, project: Project) -> BudgetStatus:
    """This month's caps and commitments for the project and its workspace."""
    month = current_month()
    committed = dict(
        BudgetMonth.objects.filter(workspace_id=project.workspace_id, month=month)
        .filter(Q(project=project) | Q(project__isnull=True))
        .values_list("project_id", "committed")
    )
    return BudgetStatus(
        month=month,
        project=Budget(project.monthly_budget, committed.get(project.pk, Decimal(0))),
        workspace=Budget(project.workspace.monthly_budget, committed.get(None, Decimal(0))),
    )


def workspace_status(*, workspace: Workspace) -> Budget:
    """The workspace's cap and what all its projects committed this month."""
    committed = (
        BudgetMonth.objects.filter(workspace=workspace, month=current_month(), project__isnull=True)
        .values_list("committed", flat=True)
        .first()
    )
    return Budget(workspace.monthly_budget, committed or Decimal(0))


def workspace_budgets(*, workspace: Workspace) -> list[tuple[Project, Decimal]]:
    """Each project of the workspace with what it committed this month."""
    committed = dict(
        BudgetMonth.objects.filter(
            workspace=workspace, month=current_month(), project__isnull=False
        ).values_list("project_id", "committed")
    )
    projects = Project.objects.filter(workspace=workspace).order_by("title", "pk")
    return [(p, committed.get(p.pk, Decimal(0))) for p in projects]


def budget_set(
    *,
    membership: Membership,
    monthly_budget: Decimal | None,
    project: Project | None = None,
) -> None:
    """An owner sets (or clears, with None) the workspace's or a project's cap."""
    require(membership.is_owner, "Only the workspace's owners can set its budgets.")
    if monthly_budget is not None and monthly_budget < 0:
        raise StudioError("A budget cannot be negative.", field="monthly_budget")
    if project is None:
        Workspace.objects.filter(pk=membership.workspace_id).update(monthly_budget=monthly_budget)
        membership.workspace.monthly_budget = monthly_budget
        return
    if project.workspace_id != membership.workspace_id:
        raise StudioError("That project belongs to another workspace.")
    Project.objects.filter(pk=project.pk).update(monthly_budget=monthly_budget)
    project.monthly_budget = monthly_budget


def budget_hold(*, version: Version) -> None:
    """Hold the version's estimate against this month's budgets, or refuse it
    with what is left. Call it in the transaction that queues the version."""
    amount = version.cost_estimate - version.budget_held
    if amount <= 0:
        return
    month = _month_of_hold(version)
    caps = Project.objects.values(
        "workspace_id", "monthly_budget", "workspace__monthly_budget"
    ).get(pk=version.project_id)
    with transaction.atomic():
        _ensure_months(caps["workspace_id"], version.project_id, month)
        for scope, cap in (
            ("project", caps["monthly_budget"]),
            ("workspace", caps["workspace__monthly_budget"]),
        ):
            rows = _month_rows(caps["workspace_id"], version.project_id, month, scope)
            fitting = rows if cap is None else rows.filter(committed__lte=cap - amount + _ROUNDING)
            if not fitting.update(committed=F("committed") + amount):
                committed = rows.values_list("committed", flat=True).get()
                raise StudioError(
                    f"This generation would cost about ${amount:.2f}, and the {scope} has "
                    f"${max(Decimal(0), cap - committed):.2f} left of its ${cap:.2f} budget "
                    f"for {month:%B}. A workspace owner can raise the budget in the "
                    "workspace's settings; a shorter or smaller video costs less."
                )
        Version.objects.filter(pk=version.pk).update(
            budget_held=version.cost_estimate, budget_month=month
        )
    version.budget_held = version.cost_estimate
    version.budget_month = month


def budget_settle(*, version: Version, cost: Decimal) -> None:
    """Replace what the version holds with what it cost. Call it in the
    transaction that finishes the version, so it happens once."""
    delta = cost - version.budget_held
    if delta == 0:
        return
    month = _month_of_hold(version)
    workspace_id = version.project.workspace_id
    _ensure_months(workspace_id, version.project_id, month)
    for scope in ("project", "workspace"):
        _month_rows(workspace_id, version.project_id, month, scope).update(
            committed=F("committed") + delta
        )
    Version.objects.filter(pk=version.pk).update(budget_held=cost, budget_month=month)
    version.budget_held = cost
    version.budget_month = month


def _month_of_hold(version: Version) -> date:
    """A hold stays in the month it was made; a new one goes to this month."""
    if version.budget_held and version.budget_month:
        return version.budget_month
    return current_month()


def _ensure_months(workspace_id: int, project_id: int, month: date) -> None:
    BudgetMonth.objects.bulk_create(
        [
            BudgetMonth(workspace_id=workspace_id, project_id=project_id, month=month),
            BudgetMonth(workspace_id=workspace_id, project_id=None, month=month),
        ],
        ignore_conflicts=True,
    )


def _month_rows(workspace_id: int, project_id: int, month: date, scope: str):
    if scope == "project":
        return BudgetMonth.objects.filter(project_id=project_id, month=month)
    return BudgetMonth.objects.filter(workspace_id=workspace_id, project__isnull=True, month=month)
