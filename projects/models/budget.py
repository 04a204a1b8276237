"""What each workspace and project has committed of its monthly budget
(projects/services/budgets.py keeps it)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from projects.models.team import Workspace
from projects.models.work import Project


class BudgetMonth(models.Model):
    """Dollars committed in one calendar month: by one project, or (with no
    project) by the whole workspace. Held estimates count until a version is
    done; then what it actually cost."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    month = models.DateField()
    committed = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "month"],
                condition=Q(project__isnull=False),
                name="one_budget_month_per_project",
            ),
            models.UniqueConstraint(
                fields=["workspace", "month"],
                condition=Q(project__isnull=True),
                name="one_budget_month_per_workspace",
            ),
        ]

    def __str__(self) -> str:
        owner = self.project or self.workspace
        return f"{owner} in {self.month:%B %Y}: ${self.committed:.2f}"
