from __future__ import annotations

from django.db import models


class QueuedTask(models.Model):
    """A Celery task kept in PostgreSQL until the broker has taken it (the outbox): a broker
    outage loses no work and never fails the user's request."""

    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["sent_at", "created_at"], name="queuedtask_unsent")]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the beat heartbeat: shows worker and beat are alive."""

    hostname = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.last_seen:%Y-%m-%d %H:%M:%S}"
