"""Rows the studio's processes keep for themselves: housekeeping's shared
schedule, the workers' heartbeats (projects/services/housekeeping.py) and
the engines' submission throttles (projects/services/throttle.py)."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A task worker process still alive: written by its housekeeping thread."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Worker {self.worker_id} on {self.host or 'an unknown host'}"


class HousekeepingRun(models.Model):
    """When a housekeeping job is next due; whichever worker moves
    ``next_run_at`` forward first runs it."""

    job = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_worker_id = models.CharField(max_length=64, blank=True)
    last_summary = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Housekeeping job {self.job}"


class EngineThrottle(models.Model):
    """An engine account that answered "too many requests" to a new
    generation: no worker submits on it again before ``until``."""

    account = models.CharField(max_length=80, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} throttled until {self.until:%H:%M:%S}"
