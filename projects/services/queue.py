"""The seam through which services enqueue work.

The tasks in ``projects.tasks`` are one-line doors into services; services
name them here by their import path instead of importing them, so the two
never import each other. The worker resolves the same paths when it runs a
task (django.tasks stores a task by its path).
"""

from __future__ import annotations

from datetime import datetime

from django.utils.module_loading import import_string

ADVANCE_GENERATION = "projects.tasks.advance_generation"
CANCEL_INTERACTION = "projects.tasks.cancel_interaction"
ADVANCE_REPLAY = "projects.tasks.advance_replay"
DELIVER_WEBHOOK = "projects.tasks.deliver_webhook"
RENDER_SEQUENCE = "projects.tasks.render_sequence"


# A version waiting to be submitted goes ahead of polls that are due: its
# paid call starts the model's clock, while a poll answered a second late
# costs a second. (django-tasks-db runs higher priorities first, and a task
# without run_after would otherwise queue behind every due poll.)
SUBMIT_PRIORITY = 10


def enqueue(
    task_path: str, *args, run_after: datetime | None = None, priority: int | None = None
) -> None:
    """Enqueue a task on the current transaction's connection: with the
    database backend it is committed (or rolled back) with the caller's work."""
    task = import_string(task_path)
    if run_after is not None:
        task = task.using(run_after=run_after)
    if priority is not None:
        task = task.using(priority=priority)
    task.enqueue(*args)


def enqueue_generation(
    version_id: int, *, run_after: datetime | None = None, submit: bool = False
) -> None:
    """Wake a worker for the version's next step; ``submit`` when that step
    is its submission."""
    enqueue(
        ADVANCE_GENERATION,
        version_id,
        run_after=run_after,
        priority=SUBMIT_PRIORITY if submit else None,
    )
