"""A replay: the edit instructions of a chain of versions, made again one
after another on another base, as a new branch."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Replay(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    base = models.ForeignKey("projects.Version", on_delete=models.CASCADE, related_name="+")
    # What each step makes again, in order, as it was when the replay began:
    # {"source": version id, "number": its number, "instruction", "preserve",
    #  "keep_rest_same", "engine", "region", "version": the step's new
    #  version id once it is made}.
    steps = models.JSONField(default=list)
    # The step's version being made now (the last one made, once done).
    current = models.ForeignKey(
        "projects.Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.RUNNING)
    stopped_reason = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="running") | Q(finished_at__isnull=False),
                name="replay_finished_when_not_running",
            ),
        ]
        indexes = [
            models.Index(
                fields=["current"], condition=Q(status="running"), name="replay_running_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"Replay of {len(self.steps)} edits onto v{self.base.number}"

    @property
    def made(self) -> int:
        return sum(1 for step in self.steps if step.get("version"))

    @property
    def summary(self) -> str:
        sources = " → ".join(f"v{step['number']}" for step in self.steps)
        return f"{sources} onto v{self.base.number}"
