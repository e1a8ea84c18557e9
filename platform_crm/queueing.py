"""Enqueue Celery work only once the surrounding transaction has committed.

A task sent before commit can run before its rows exist (or after they were rolled back). This is
the one helper the codebase uses to send tasks from request and service code.
"""

from functools import partial

from django.db import transaction


def enqueue_on_commit(task, *args, using: str | None = None, **kwargs) -> None:
    transaction.on_commit(partial(task.delay, *args, **kwargs), using=using)
