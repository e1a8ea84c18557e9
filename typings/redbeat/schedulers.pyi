# What platform_crm/beat_scheduler.py uses of celery-redbeat, which ships no annotations.
from typing import Any

from celery import Celery
from celery.beat import Scheduler
from redis import Redis
from redis.lock import Lock

LUA_EXTEND_TO_SCRIPT: str

def get_redis(app: Celery | None = None) -> Redis: ...
def acquire_distributed_beat_lock(sender: Any = None, **kwargs: Any) -> None: ...

class RedBeatScheduler(Scheduler):
    lock: Lock | None
    lock_key: str
    lock_timeout: int
    def __init__(
        self,
        app: Celery,
        lock_key: str | None = None,
        lock_timeout: int | None = None,
        **kwargs: Any,
    ) -> None: ...
    def setup_schedule(self) -> None: ...
    # redbeat takes (min=min, **kwargs), not the base class's arguments.
    def tick(self, *args: Any, **kwargs: Any) -> float: ...
    def close(self) -> None: ...
