"""Per-organisation Xero limits, shared by every worker through Redis.

Xero allows 5 calls in flight, 60 a minute and a day budget per organisation, with minute
windows that reset at times of Xero's choosing. We keep under them from our side: a lease per
call in flight, and a sliding window slightly longer than a minute (so any fixed minute Xero
counts holds at most the limit, whatever its phase and the calls' time in transit). A 429's
Retry-After blocks the organisation for every worker until it passes.

Without Redis nothing can tell how many calls the other workers have in flight, so no call
goes out: a slot that cannot be had is a Transient error (pages say Xero cannot be reached just
now; tasks retry). Releasing a slot or recording Xero's block when Redis is away is skipped:
the slot's lease and the block expire by themselves.
"""

import logging
import uuid
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from .errors import Transient

log = logging.getLogger(__name__)

WINDOW_SECONDS = 61.0
# A slot's lease outlives the call it is for by this much; see lease_seconds.
LEASE_MARGIN_SECONDS = 5.0

_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return {0, tostring(blocked - now), 'blocked'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(soonest[2]) - now), 'concurrent'}
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + tonumber(ARGV[3]) - now), 'minute'}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[5])
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])) + 5)
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[3])) + 5)
return {1, '0', 'ok'}
"""

_BLOCK = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return tostring(until_)
"""


@cache
def redis_client() -> redis.Redis:
    """The Redis that coordinates workers (limits, flags); not the cache. Short timeouts: a
    Redis that does not answer must not hold a page for long."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def lease_seconds() -> float:
    """How long a call's slot is held at most: as long as the call can last (its connect and
    read timeouts) and a little more. A worker killed mid-call never releases its slot; the
    lease frees it this soon, so the organisation's calls do not wait minutes on the dead."""
    timeouts = float(settings.XERO_CONNECT_TIMEOUT) + float(settings.XERO_READ_TIMEOUT)
    return timeouts + LEASE_MARGIN_SECONDS


@dataclass(frozen=True)
class Decision:
    granted: bool
    # Seconds before trying again, when not granted. For "concurrent": until the oldest slot's
    # lease runs out (the most it can take; a live call usually frees its slot much sooner).
    wait: float
    reason: str  # ok, concurrent, minute, blocked
    lease: str = ""


class TenantLimiter:
    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        prefix = f"xero:limits:{tenant_id}"
        self.keys = [f"{prefix}:inflight", f"{prefix}:minute", f"{prefix}:blocked_until"]

    def try_acquire(self) -> Decision:
        lease = uuid.uuid4().hex
        try:
            granted, wait, reason = redis_client().eval(
                _ACQUIRE,
                3,
                *self.keys,
                settings.XERO_MAX_CONCURRENT_CALLS,
                settings.XERO_CALLS_PER_MINUTE,
                WINDOW_SECONDS,
                lease_seconds(),
                lease,
            )
        except redis.RedisError as error:
            raise Transient(
                "Xero cannot be reached just now (the service that keeps us within Xero's "
                "limits is unavailable); try again in a minute."
            ) from error
        return Decision(bool(granted), float(wait), reason.decode(), lease if granted else "")

    def release(self, lease: str) -> None:
        try:
            redis_client().zrem(self.keys[0], lease)
        except redis.RedisError:
            log.warning("xero call slot not released (Redis unavailable); its lease expires")

    def block_for(self, seconds: float) -> None:
        """Every worker waits this long before calling this organisation again."""
        try:
            redis_client().eval(_BLOCK, 1, self.keys[2], max(seconds, 0.0))
        except redis.RedisError:
            log.warning("xero rate-limit block not shared (Redis unavailable)")

    def reset(self) -> None:
        redis_client().delete(*self.keys)
