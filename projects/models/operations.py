"""Rows the studio's processes keep for themselves: housekeeping's shared
schedule, the workers' heartbeats (projects/services/housekeeping.py), and
the engines' submission throttles and quota ledger
(projects/services/throttle.py)."""

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
    """An engine account (an engine and its API key): when it answered "too
    many requests", no worker submits on it again before ``until``. Its row
    is also what workers lock while they count and take its quota."""

    account = models.CharField(max_length=80, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account} throttled until {self.until:%H:%M:%S}"


class QuotaUse(models.Model):
    """One request an engine account's quota let through, taken immediately
    before the paid call: per-minute and per-day counts are counts of these."""

    account = models.CharField(max_length=80)
    version = models.ForeignKey(
        "projects.Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "used_at"], name="quota_use_account_idx")]

    def __str__(self) -> str:
        return f"{self.account} at {self.used_at:%H:%M:%S}"
