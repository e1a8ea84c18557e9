"""Enqueue Celery work only once the surrounding transaction has committed.

A task sent before commit can run before its rows exist (or after they were rolled back). This is
the one helper the codebase uses to send tasks from request and service code. Tasks are named,
never imported: a service queueing work needs nothing from the module that runs it, so no part
imports another's tasks and no cycle hides inside a function.

A task that cannot be sent because the broker (Redis) is down is logged, not raised: what it
works on is already committed, and raising would turn a request that succeeded into a 500.
Jobs that must not be lost are kept in the database and found again by a beat sweep (contact
imports, webhook deliveries, the invoice outbox).
"""

import logging
from functools import partial
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from .celery import app as celery_app

log = logging.getLogger(__name__)

# Longer waits than this are not a task's countdown (the broker's visibility timeout is an hour).
RETRY_COUNTDOWN_CAP = 50 * 60
# The priority of a long job's next turn (a drain's, an import's). Redis keeps a list per
# priority step and a worker takes from priority 0 (every other message) first, so a turn waits
# while anything else does: one organisation's burst or import never delays another's save.
# Not starved: the beat sweeps queue due work at the normal priority.
BEHIND = 9


def enqueue_on_commit(
    task_name: str, *args: Any, using: str | None = None, behind: bool = False, **kwargs: Any
) -> None:
    transaction.on_commit(partial(_send, task_name, args, kwargs, behind), using=using)


def enqueue(task_name: str, *args: Any, behind: bool = False, **kwargs: Any) -> None:
    """Send at once, for code already past its commit (an on-commit hook). A broker that is
    down raises here: the caller decides what that means. `behind`: a long job's next turn,
    taken only when no other work waits (BEHIND)."""
    _apply(_task(task_name), args, kwargs, behind)


def _apply(
    task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], behind: bool
) -> None:
    if behind:
        task.apply_async(args, kwargs, priority=BEHIND)
    else:
        task.apply_async(args, kwargs)


def _task(task_name: str) -> Task[Any, Any]:
    if task_name not in celery_app.tasks:
        # Outside a worker, Celery imports the apps' tasks modules only when asked.
        celery_app.autodiscover_tasks(force=True)
    return celery_app.tasks[task_name]  # an unknown name is a bug: raised, never swallowed


def _send(
    task_name: str, args: tuple[Any, ...], kwargs: dict[str, Any], behind: bool = False
) -> None:
    task = _task(task_name)
    try:
        _apply(task, args, kwargs, behind)
    except (BrokerUnavailable, RedisError) as error:
        log.warning(
            "task not queued: the broker is unavailable",
            extra={"queued_task": task.name, "error": str(error)[:300]},
        )
