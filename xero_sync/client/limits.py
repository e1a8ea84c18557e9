"""Xero's limits, shared by every worker through Redis.

Per organisation Xero allows 5 calls in flight, 60 a minute and a day's allowance; per app,
10,000 calls a minute across every organisation. Minute windows reset at times of Xero's
choosing, so we keep under them from our side: a lease per call in flight, and sliding windows
slightly longer than a minute (any fixed minute Xero counts then holds at most the limit,
whatever its phase and the calls' time in transit).

The day allowance is never configured: it is what Xero says is left (X-DayLimit-Remaining on
every answer), so a Starter organisation's 1,000 works as a 5,000 one does. Each answer sets
what is left (less the organisation's other calls in flight, which may not be counted yet);
each call granted spends one. At nought no call goes, except one at a time to ask Xero when
the day turns: its 429 (X-Rate-Limit-Problem: day) carries Retry-After, and until then every
worker refuses the organisation's calls without asking. The day's state is one Redis hash per
organisation, not a column: fifty concurrent calls updating the connection's row deadlocked
with a token refresh holding it.

A 429's Retry-After blocks the organisation (or, for the app-wide limit, every organisation)
for every worker until it passes.

Without Redis nothing can tell how many calls the other workers have in flight, so no call
goes out: a slot that cannot be had is a Transient error (pages say Xero cannot be reached just
now; tasks retry). Releasing a slot or recording Xero's answer when Redis is away is skipped:
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
# What Xero said was left today is forgotten after this long: a day has surely turned.
DAY_STATE_SECONDS = 25 * 3600
APP_KEYS = ["xero:limits:app:minute", "xero:limits:app:blocked_until"]

# KEYS: inflight, minute, blocked_until, day, app minute, app blocked_until.
# ARGV: concurrent, per minute, window, lease seconds, lease, app per minute.
_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return {0, tostring(blocked - now), 'blocked'} end
local app_blocked = tonumber(redis.call('GET', KEYS[6]) or '0')
if app_blocked > now then return {0, tostring(app_blocked - now), 'app'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[3]))
local in_flight = redis.call('ZCARD', KEYS[1])
if in_flight >= tonumber(ARGV[1]) then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(soonest[2]) - now), 'concurrent'}
end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + tonumber(ARGV[3]) - now), 'minute'}
end
local left = tonumber(redis.call('HGET', KEYS[4], 'left') or '')
if left ~= nil and left <= 0 then
  local resets = tonumber(redis.call('HGET', KEYS[4], 'resets_at') or '0')
  if resets > now then return {0, tostring(resets - now), 'day'} end
  if resets > 0 then
    redis.call('DEL', KEYS[4])  -- the day has turned; the next answer says what is left
    left = nil
  elseif in_flight > 0 then
    -- A call in flight will say what is left; only one goes to ask Xero.
    local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {0, tostring(tonumber(soonest[2]) - now), 'concurrent'}
  end
end
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[6]) then
  local oldest = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(oldest[2]) + tonumber(ARGV[3]) - now), 'app'}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[5])
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZADD', KEYS[5], now, ARGV[5])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4])) + 5)
redis.call('EXPIRE', KEYS[2], math.ceil(tonumber(ARGV[3])) + 5)
redis.call('EXPIRE', KEYS[5], math.ceil(tonumber(ARGV[3])) + 5)
if left ~= nil and left > 0 then redis.call('HINCRBY', KEYS[4], 'left', -1) end
return {1, '0', 'ok'}
"""

# A call's answer: its slot freed and, when Xero said, what is left today.
# KEYS: inflight, day. ARGV: lease, reported left ('' when not said), day state seconds.
_ANSWERED = """
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] == '' then return 0 end
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local reported = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local left = math.max(reported - redis.call('ZCARD', KEYS[1]), 0)
redis.call('HSET', KEYS[2], 'left', left, 'reported', reported, 'reported_at', tostring(now))
if reported > 0 then redis.call('HDEL', KEYS[2], 'resets_at') end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return left
"""

# Xero said the day is spent and when it turns. KEYS: day. ARGV: seconds until it turns.
_DAY_SPENT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local resets = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'left', 0, 'reported', 0, 'reported_at', tostring(now),
  'resets_at', tostring(resets))
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 3600)
return tostring(resets)
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
    reason: str  # ok, concurrent, minute, day, app, blocked
    lease: str = ""


@dataclass(frozen=True)
class DayState:
    """The organisation's day allowance as the limiter holds it."""

    left: int | None  # None: Xero has not said (or said over a day ago)
    reported: int | None  # what Xero last said, before the calls in flight were taken off
    resets_at: float | None  # epoch seconds, once Xero has said the day is spent


def problem_kind(problem: str) -> str:
    """Xero's X-Rate-Limit-Problem in our words: day, app, minute or "" (values vary: Daily,
    DayLimit, minute, appminute; matched loosely)."""
    lowered = problem.lower()
    if "day" in lowered or "daily" in lowered:
        return "day"
    if "app" in lowered:
        return "app"
    if "min" in lowered:
        return "minute"
    return ""


class TenantLimiter:
    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        prefix = f"xero:limits:{tenant_id}"
        self.keys = [
            f"{prefix}:inflight",
            f"{prefix}:minute",
            f"{prefix}:blocked_until",
            f"{prefix}:day",
        ]

    def try_acquire(self) -> Decision:
        lease = uuid.uuid4().hex
        try:
            granted, wait, reason = redis_client().eval(
                _ACQUIRE,
                6,
                *self.keys,
                *APP_KEYS,
                settings.XERO_MAX_CONCURRENT_CALLS,
                settings.XERO_CALLS_PER_MINUTE,
                WINDOW_SECONDS,
                lease_seconds(),
                lease,
                settings.XERO_APP_CALLS_PER_MINUTE,
            )
        except redis.RedisError as error:
            raise Transient(
                "Xero cannot be reached just now (the service that keeps us within Xero's "
                "limits is unavailable); try again in a minute."
            ) from error
        return Decision(bool(granted), float(wait), reason.decode(), lease if granted else "")

    def release(self, lease: str, *, day_left: int | None = None) -> None:
        """The call is over: its slot is freed and what Xero said is left today is kept."""
        reported = "" if day_left is None else str(day_left)
        try:
            redis_client().eval(_ANSWERED, 2, self.keys[0], self.keys[3], lease, reported,
                                DAY_STATE_SECONDS)  # fmt: skip
        except redis.RedisError:
            log.warning("xero call slot not released (Redis unavailable); its lease expires")

    def block_for(self, seconds: float, *, problem: str = "") -> None:
        """Every worker waits this long before calling this organisation again (every
        organisation, for the app-wide limit); for the day limit, until the day turns."""
        seconds = max(seconds, 0.0)
        kind = problem_kind(problem)
        try:
            if kind == "app":
                redis_client().eval(_BLOCK, 1, APP_KEYS[1], seconds)
                return
            if kind == "day":
                redis_client().eval(_DAY_SPENT, 1, self.keys[3], seconds)
                return
            redis_client().eval(_BLOCK, 1, self.keys[2], seconds)
        except redis.RedisError:
            log.warning("xero rate-limit block not shared (Redis unavailable)")

    def day_state(self) -> DayState:
        raw: dict[bytes, bytes] = redis_client().hgetall(self.keys[3])  # type: ignore[assignment]
        values = {k.decode(): v.decode() for k, v in raw.items()}

        def number(name: str) -> float | None:
            return float(values[name]) if name in values else None

        left, reported = number("left"), number("reported")
        return DayState(
            left=None if left is None else int(left),
            reported=None if reported is None else int(reported),
            resets_at=number("resets_at"),
        )

    def reset(self) -> None:
        redis_client().delete(*self.keys)


def app_limits_reset() -> None:
    """Forget the app-wide minute and any app-wide block (tests)."""
    redis_client().delete(*APP_KEYS)
