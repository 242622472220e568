"""Checks behind /healthz: can we reach the database and the Celery broker?"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from kombu import Connection


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"error: {exc.__class__.__name__}"
    return "ok"


def check_broker(timeout: float = 2.0) -> str:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=timeout,
            transport_options={
                **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
            },
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
            channel = conn.default_channel
            if hasattr(channel, "client") and hasattr(channel.client, "ping"):
                channel.client.ping()
    except Exception as exc:  # noqa: BLE001
        return f"error: {exc.__class__.__name__}"
    return "ok"
