"""Background tasks: thin wrappers that take ids and call a service.

The queue only wakes workers; the Version row is the truth (DESIGN.md).
"""

from django.tasks import task

from projects import services


@task
def advance_generation(version_id: int) -> None:
    services.generation_advance(version_id=version_id)


@task
def cancel_interaction(version_id: int) -> None:
    services.interaction_cancel(version_id=version_id)


@task
def sweep_versions() -> None:
    services.sweep_and_reschedule()
