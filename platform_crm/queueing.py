"""Enqueue Celery work only once the surrounding transaction has committed.

A task sent before commit can run before its rows exist (or after they were rolled back). This is
the one helper the codebase uses to send tasks from request and service code.

A task that cannot be sent because the broker (Redis) is down is logged, not raised: what it
works on is already committed, and raising would turn a request that succeeded into a 500.
Jobs that must not be lost are kept in the database and found again by a beat sweep (contact
imports, webhook deliveries, the invoice outbox).
"""

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Longer waits than this are not a task's countdown (the broker's visibility timeout is an hour).
RETRY_COUNTDOWN_CAP = 50 * 60


def enqueue_on_commit(task, *args, using: str | None = None, **kwargs) -> None:
    transaction.on_commit(partial(_send, task, args, kwargs), using=using)


def _send(task, args: tuple, kwargs: dict) -> None:
    try:
        task.apply_async(args, kwargs)
    except (BrokerUnavailable, RedisError) as error:
        log.warning(
            "task not queued: the broker is unavailable",
            extra={"queued_task": task.name, "error": str(error)[:300]},
        )
