"""One log line per Celery task run (name, id, id arguments, state, duration), and the running
task's name, id and id arguments on every line logged while it runs, so a Xero call made by a
task can be traced to it. Only arguments named `*_id` are logged: task arguments may carry
email addresses or bodies (send_email_task), never to be copied into logs.

Connected from PlatformCrmConfig.ready, so every process that loads Django has it.
"""

import inspect
import logging
import time
from contextvars import ContextVar
from typing import Any

from celery import signals

log = logging.getLogger(__name__)

# The task this thread or process is running, for TaskContextFilter.
_current: ContextVar[dict[str, Any] | None] = ContextVar("current_task", default=None)
# task id -> (monotonic start, error text), between prerun and postrun.
_runs: dict[str, tuple[float, str]] = {}


def task_id_arguments(task: Any, args: Any, kwargs: Any) -> dict[str, Any]:
    """The task's arguments named `*_id` / `*_ids`, by parameter name."""
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return {}
    return {
        name: value
        for name, value in bound.arguments.items()
        if name.endswith(("_id", "_ids")) and isinstance(value, int | str | list)
    }


class TaskContextFilter(logging.Filter):
    """Adds task_name, task_id and task_args to records logged inside a task."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _current.get()
        if context:
            for key, value in context.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


@signals.task_prerun.connect(dispatch_uid="platform_crm.task_logging.prerun")
def task_started(
    sender: Any = None,
    task_id: str = "",
    task: Any = None,
    args: Any = None,
    kwargs: Any = None,
    **_: Any,
) -> None:
    _runs[task_id] = (time.monotonic(), "")
    _current.set(
        {
            "task_name": getattr(task, "name", str(sender)),
            "task_id": task_id,
            "task_args": task_id_arguments(task, args, kwargs),
        }
    )


@signals.task_failure.connect(dispatch_uid="platform_crm.task_logging.failure")
def task_failed(
    sender: Any = None, task_id: str = "", exception: BaseException | None = None, **_: Any
) -> None:
    started, _error = _runs.get(task_id, (time.monotonic(), ""))
    _runs[task_id] = (started, f"{type(exception).__name__}: {exception}"[:500])


@signals.task_postrun.connect(dispatch_uid="platform_crm.task_logging.postrun")
def task_finished(
    sender: Any = None,
    task_id: str = "",
    task: Any = None,
    args: Any = None,
    kwargs: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    started, error = _runs.pop(task_id, (0.0, ""))
    fields: dict[str, Any] = {
        "task_name": getattr(task, "name", str(sender)),
        "task_id": task_id,
        "task_args": task_id_arguments(task, args, kwargs),
        "state": state,
        "duration_ms": int((time.monotonic() - started) * 1000) if started else None,
    }
    if error:
        fields["error"] = error
    log.log(logging.ERROR if state == "FAILURE" else logging.INFO, "task run", extra=fields)
    _current.set(None)


@signals.setup_logging.connect(dispatch_uid="platform_crm.task_logging.setup_logging")
def keep_django_logging(**_: Any) -> None:
    """Workers and beat keep the LOGGING of settings.py (JSON or plain, as LOG_FORMAT says)
    instead of Celery replacing the root handlers with its own plain format."""
