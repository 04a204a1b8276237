"""Webhooks: a workspace's endpoints, told of its versions, comments and
decisions, and the log of every delivery to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from projects.models.team import Workspace


class WebhookEndpoint(models.Model):
    class Event(models.TextChoices):
        VERSION_READY = "version.ready", "A version is ready"
        VERSION_FAILED = "version.failed", "A version failed"
        VERSION_BLOCKED = "version.blocked", "A version was blocked"
        VERSION_NEEDS_DECISION = "version.needs_decision", "A version needs a decision"
        COMMENT_POSTED = "comment.posted", "A comment was posted"
        REVIEW_DECIDED = "review.decided", "A version was approved or changes were requested"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=100, blank=True)
    # The event names it wants (Event values), checked by the service.
    events = models.JSONField(default=list)
    # Kept as it is, since every delivery is signed with it; shown once, at
    # creation or rotation, and never again (not in the admin, the API or
    # the page).
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Deliveries that failed in a row (every retry spent); reset by a success.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None

    def wants(self, event: str) -> bool:
        return event in self.events


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The event's id, in the body and the Studio-Delivery-Id header: the same
    # for every attempt and for a redelivery, so a receiver can de-duplicate.
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event = models.CharField(max_length=40, choices=WebhookEndpoint.Event)
    # The exact JSON sent, the same bytes on every attempt (each attempt is
    # signed anew with its own timestamp).
    body = models.TextField()
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # What the last attempt met: the receiver's status, how long it took,
    # the first bytes of its answer, or why there was no answer.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="succeeded") | models.Q(delivered_at__isnull=False),
                name="delivery_succeeded_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint}"
