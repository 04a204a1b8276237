"""Background tasks: one-line doors that take ids and call a service.

The queue only wakes workers; the Version row is the truth (DESIGN.md).
Services enqueue these by path (``projects.services.queue``).
"""

from django.tasks import task

from projects.services import (
    decisions,
    generation,
    replays,
    sequence_rendering,
    sweeper,
    webhooks,
)


@task
def advance_generation(version_id: int) -> None:
    generation.generation_advance(version_id=version_id)


@task
def cancel_interaction(version_id: int) -> None:
    decisions.interaction_cancel(version_id=version_id)


@task
def advance_replay(replay_id: int) -> None:
    replays.replay_advance(replay_id=replay_id)


@task
def deliver_webhook(delivery_id: int) -> None:
    webhooks.delivery_attempt(delivery_id=delivery_id)


@task
def render_sequence(render_id: int) -> None:
    sequence_rendering.render_run(render_id=render_id)


@task
def sweep_versions() -> None:
    # Housekeeping sweeps now; rows queued by an older studio still run.
    sweeper.versions_sweep()
