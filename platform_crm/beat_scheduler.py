"""Beat's scheduler: celery-redbeat, which keeps the schedule and a single-beat lock in Redis.

Exactly one beat schedules, however many are started (a deploy overlapping the old one, a stray
terminal): a beat schedules only while it holds the lock, renewing it at every tick. A second
beat waits, says who holds the lock, and takes over once the holder lets go (stopped cleanly)
or its lock expires (it died).

What redbeat alone does not do, added here: ride out Redis. Redbeat's beat exits when Redis
cannot be reached or when its lock is gone (Redis restarted empty), and nothing may restart it;
restarted against an emptied Redis it would find no schedule either. This beat never exits over
either. While Redis is away it schedules nothing and tries again every second. A beat that
finds its lock gone stops scheduling at once (another beat may have taken over) and tries to
take the lock again; whenever it takes the lock it writes the schedule of platform_crm/celery.py
back to Redis (entries still there keep their last run time).
"""

import contextlib
import logging
import os
import socket
import uuid
from typing import Any

import redis
from celery.signals import beat_init
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnavailable
from redbeat.schedulers import (
    LUA_EXTEND_TO_SCRIPT,
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    get_redis,
)

log = logging.getLogger(__name__)

# Redbeat's start-up hook waits for the lock silently, and lets a beat whose Redis is down at
# that moment go on without it; this scheduler takes the lock in its ticks instead.
beat_init.disconnect(acquire_distributed_beat_lock)


class Scheduler(RedBeatScheduler):
    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        # Redbeat reads its settings by their own names, not as CELERY_-prefixed Django ones.
        app.conf.update(
            redbeat_redis_url=settings.REDIS_URL,
            redbeat_redis_options={"socket_connect_timeout": 2, "socket_timeout": 5},
        )
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._told_holder: bytes | str | None = None
        self._redis_down = False
        super().__init__(app, *args, **kwargs)

    @property
    def _retry_seconds(self) -> float:
        return min(1.0, self.lock_timeout / 3)

    def setup_schedule(self) -> None:
        # Called as beat starts, when Redis may be down: the schedule is written when the lock
        # is taken.
        with contextlib.suppress(redis.RedisError):
            super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if self.lock is None and not self._take_lock():
                interval = self._retry_seconds
            else:
                interval = super().tick(*args, **kwargs)
        except redis.exceptions.LockError:
            log.warning(
                "celery beat: lost the schedule lock %s (Redis lost it, or this beat stalled "
                "and another took over); scheduling nothing until it holds the lock again",
                self.lock_key,
            )
            self.lock = None
            return 0.1  # try to take it again at once
        except (redis.RedisError, BrokerUnavailable) as error:
            if not self._redis_down:
                log.warning(
                    "celery beat: Redis is unavailable (%s); scheduling nothing until it is back",
                    error,
                )
                self._redis_down = True
            return self._retry_seconds
        if self._redis_down:
            log.info("celery beat: Redis is back")
            self._redis_down = False
        return interval

    def _take_lock(self) -> bool:
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, thread_local=False)
        # Renewal sets the expiry anew rather than adding to it (as redbeat's own lock does).
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False, token=self.holder):
            holder = client.get(self.lock_key) or "nobody (expiring)"
            if holder != self._told_holder:
                log.warning(
                    "celery beat: another beat (%s) holds the schedule lock %s; this beat waits "
                    "and schedules nothing until that lock is released or expires",
                    holder,
                    self.lock_key,
                )
                self._told_holder = holder
            return False
        try:
            super().setup_schedule()
        except redis.RedisError:
            with contextlib.suppress(redis.RedisError):
                lock.release()
            raise
        self.lock, self._told_holder = lock, None
        log.info("celery beat: holding the schedule lock %s as %s", self.lock_key, self.holder)
        return True

    def close(self) -> None:
        # Releasing hands over at once; without Redis the lock expires by itself.
        with contextlib.suppress(redis.RedisError):
            super().close()
