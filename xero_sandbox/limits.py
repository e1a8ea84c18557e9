"""Xero's rate limits: per tenant 5 in flight, 60 per minute, 5,000 per day; 10,000 per minute
app-wide. Windows are fixed (they start at a tenant's first call, so tenants reset at different
times) and run on the sandbox clock. A refused call does not spend budget."""

import math
import threading
from dataclasses import dataclass

from .clock import Clock
from .config import Behaviour, Limits


@dataclass
class Window:
    start: float = 0.0
    used: int = 0

    def roll(self, now: float, length: float) -> None:
        if now >= self.start + length:
            self.start, self.used = now, 0


@dataclass
class Verdict:
    allowed: bool
    headers: dict[str, str]
    problem: str = ""


class RateLimiter:
    def __init__(self, clock: Clock, limits: Limits, behaviour: Behaviour) -> None:
        self.clock, self.limits, self.behaviour = clock, limits, behaviour
        self._lock = threading.Lock()
        self._minute: dict[str, Window] = {}
        self._day: dict[str, Window] = {}
        self._app = Window()
        self._in_flight: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app = Window()
            self._in_flight.clear()

    def acquire(self, tenant_id: str) -> Verdict:
        """Admit one call (call `release` when done) or refuse it with a 429 verdict."""
        now = self.clock.time()
        with self._lock:
            minute = self._minute.setdefault(tenant_id, Window(start=now))
            day = self._day.setdefault(tenant_id, Window(start=now))
            minute.roll(now, 60)
            day.roll(now, 86400)
            self._app.roll(now, 60)
            limits, b = self.limits, self.behaviour
            problem, retry_after = "", None
            if self._in_flight.get(tenant_id, 0) >= limits.concurrent:
                problem = b.rate_limit_problem_concurrent
                retry_after = 1 if b.concurrent_retry_after else None
            elif day.used >= limits.per_day:
                problem, retry_after = b.rate_limit_problem_day, day.start + 86400 - now
            elif minute.used >= limits.per_minute or self._app.used >= limits.app_per_minute:
                window = minute if minute.used >= limits.per_minute else self._app
                problem, retry_after = b.rate_limit_problem_minute, window.start + 60 - now
            if not problem:
                minute.used += 1
                day.used += 1
                self._app.used += 1
                self._in_flight[tenant_id] = self._in_flight.get(tenant_id, 0) + 1
            headers = {
                "X-DayLimit-Remaining": str(max(limits.per_day - day.used, 0)),
                "X-MinLimit-Remaining": str(max(limits.per_minute - minute.used, 0)),
                "X-AppMinLimit-Remaining": str(max(limits.app_per_minute - self._app.used, 0)),
            }
            if problem:
                headers["X-Rate-Limit-Problem"] = problem
                if retry_after is not None:
                    headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
            return Verdict(allowed=not problem, headers=headers, problem=problem)

    def release(self, tenant_id: str) -> None:
        with self._lock:
            self._in_flight[tenant_id] = max(self._in_flight.get(tenant_id, 1) - 1, 0)

    def usage(self) -> dict:
        with self._lock:
            return {
                t: {
                    "minute_used": self._minute[t].used,
                    "day_used": self._day.get(t, Window()).used,
                    "in_flight": self._in_flight.get(t, 0),
                }
                for t in self._minute
            }
