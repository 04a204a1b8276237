"""django-tasks-db's worker, with the studio's housekeeping beside it: every
worker process keeps crash recovery and cleanup going (see
``projects.services.housekeeping``)."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django_tasks_db.management.commands import db_worker

from projects.services.broadcast import send_through_one_loop
from projects.services.engines import engines_warm
from projects.services.housekeeping import HousekeepingThread


class Command(db_worker.Command):
    def handle(self, *args, worker_id: str, **options) -> None:
        # Before any thread connects: each reads the alias's settings then.
        for alias in connections:
            connections.settings[alias]["CONN_MAX_AGE"] = settings.STUDIO_WORKER_CONN_MAX_AGE
        housekeeping = HousekeepingThread(worker_id=worker_id)
        housekeeping.start()
        engines_warm()
        send_through_one_loop()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            housekeeping.stop()
