"""Exactly one beat schedules, however many are started.

A second `celery beat` (a deploy overlapping the old one, a stray terminal) would send every
periodic job twice. So a beat must hold a lock in Redis before it schedules anything: it claims
the lock when it starts (waiting, and saying why, while another beat holds it) and renews it
from a background thread. If the holder dies, its lock expires and a waiting beat takes over. A
beat that finds its lock gone (it stalled past the expiry, or Redis lost the key) stops rather
than risk scheduling alongside the beat that took over.
"""

import atexit
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid

import redis
from celery import signals
from django.conf import settings
from redis.exceptions import LockError
from redis.lock import Lock

log = logging.getLogger(__name__)

LOCK_NAME = "platform_crm:celery-beat"
# How long a dead beat's lock outlives it; renewed every third of that. The app's
# `beat_lock_seconds` setting overrides it.
LOCK_SECONDS = 60


def _lock_seconds(app) -> float:
    return float(app.conf.get("beat_lock_seconds") or LOCK_SECONDS)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(lock: Lock, holder: str, seconds: float) -> None:
    """Block until this beat holds the lock, logging who holds it meanwhile."""
    told = None
    while not lock.acquire(blocking=False, token=holder):
        current = lock.redis.get(lock.name)
        current = current.decode() if current else "nobody (expiring)"
        if current != told:
            log.warning(
                "celery beat: another beat (%s) holds the schedule lock %s; this beat waits "
                "and schedules nothing until that lock is released or expires",
                current,
                LOCK_NAME,
            )
            told = current
        time.sleep(min(1.0, seconds / 3))
    log.info("celery beat: holding the schedule lock %s as %s", LOCK_NAME, holder)


def _renew_forever(lock: Lock, seconds: float) -> None:
    while True:
        time.sleep(seconds / 3)
        try:
            lock.reacquire()
        except LockError:
            log.critical(
                "celery beat: lost the schedule lock %s (another beat may have taken over); "
                "stopping so the periodic jobs are not sent twice",
                LOCK_NAME,
            )
            os.kill(os.getpid(), signal.SIGTERM)
            return
        except redis.RedisError as error:
            # Keep trying while the lock lasts; if it lapses, reacquire says so above.
            log.warning("celery beat: could not renew the schedule lock: %s", error)


def _release(lock: Lock) -> None:
    # Already expired or taken over: nothing of ours to release.
    with contextlib.suppress(LockError, redis.RedisError):
        lock.release()


@signals.beat_init.connect(dispatch_uid="platform_crm.beat_lock")
def hold_schedule_lock(sender, **kwargs) -> None:
    """Runs in `celery beat` before its first tick (beat_init blocks the scheduling loop)."""
    seconds = _lock_seconds(sender.app)
    lock = redis.Redis.from_url(settings.REDIS_URL).lock(
        LOCK_NAME, timeout=seconds, thread_local=False
    )
    _claim(lock, _holder(), seconds)
    atexit.register(_release, lock)  # a beat stopped cleanly hands over at once
    threading.Thread(
        target=_renew_forever, args=(lock, seconds), name="beat-lock", daemon=True
    ).start()
