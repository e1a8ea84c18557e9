"""Xero's rate limits: per tenant 5 in flight, 60 per minute, 5,000 per day (1,000 for an
organisation whose app is on the Starter tier: set per organisation); 10,000 per minute
app-wide. Windows are fixed (they start at a tenant's first call, so tenants reset at different
times) and run on the sandbox clock. A refused call does not spend budget."""

import math
import threading
from dataclasses import dataclass
from typing import Any

from .clock import Clock
from .config import Behaviour, Limits

PER_ORG = ("concurrent", "per_minute", "per_day")  # what one organisation may have of its own


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
        self._own: dict[str, dict[str, int]] = {}  # tenant -> its own limits (PER_ORG)

    def reset(self) -> None:
        """Forget the usage (every window starts again); organisations keep their own limits."""
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app = Window()
            self._in_flight.clear()

    def clear_org_limits(self) -> None:
        with self._lock:
            self._own.clear()

    def set_org_limits(self, tenant_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Give one organisation limits of its own ({per_day: 1000} for a Starter-tier app);
        None returns a limit to the app-wide setting. Returns what applies to it now."""
        unknown = [k for k in values if k not in PER_ORG]
        if unknown:
            raise ValueError(f"unknown limits: {unknown} (one of {', '.join(PER_ORG)})")
        for name, value in values.items():
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be a whole number or null, not {value!r}")
        with self._lock:
            own = self._own.setdefault(tenant_id, {})
            for name, value in values.items():
                if value is None:
                    own.pop(name, None)
                else:
                    own[name] = value
            return self._applying(tenant_id)

    def org_limits(self, tenant_id: str) -> dict[str, Any]:
        with self._lock:
            return self._applying(tenant_id)

    def _applying(self, tenant_id: str) -> dict[str, Any]:
        own = self._own.get(tenant_id, {})
        return {name: own.get(name, getattr(self.limits, name)) for name in PER_ORG}

    def acquire(self, tenant_id: str) -> Verdict:
        """Admit one call (call `release` when done) or refuse it with a 429 verdict."""
        now = self.clock.time()
        with self._lock:
            minute = self._minute.setdefault(tenant_id, Window(start=now))
            day = self._day.setdefault(tenant_id, Window(start=now))
            minute.roll(now, 60)
            day.roll(now, 86400)
            self._app.roll(now, 60)
            limits, b = self._applying(tenant_id), self.behaviour
            app_per_minute = self.limits.app_per_minute
            problem: str = ""
            retry_after: float | None = None
            if self._in_flight.get(tenant_id, 0) >= limits["concurrent"]:
                problem = b.rate_limit_problem_concurrent
                retry_after = 1 if b.concurrent_retry_after else None
            elif day.used >= limits["per_day"]:
                problem = b.rate_limit_problem_day
                retry_after = day.start + 86400 - now if b.day_retry_after else None
            elif minute.used >= limits["per_minute"]:
                problem, retry_after = b.rate_limit_problem_minute, minute.start + 60 - now
            elif self._app.used >= app_per_minute:
                problem = b.rate_limit_problem_app_minute
                retry_after = self._app.start + 60 - now
            if not problem:
                minute.used += 1
                day.used += 1
                self._app.used += 1
                self._in_flight[tenant_id] = self._in_flight.get(tenant_id, 0) + 1
            headers = {
                "X-DayLimit-Remaining": str(max(limits["per_day"] - day.used, 0)),
                "X-MinLimit-Remaining": str(max(limits["per_minute"] - minute.used, 0)),
                "X-AppMinLimit-Remaining": str(max(app_per_minute - self._app.used, 0)),
            }
            if problem:
                headers["X-Rate-Limit-Problem"] = problem
                if retry_after is not None:
                    headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
            return Verdict(allowed=not problem, headers=headers, problem=problem)

    def release(self, tenant_id: str) -> None:
        with self._lock:
            self._in_flight[tenant_id] = max(self._in_flight.get(tenant_id, 1) - 1, 0)

    def usage(self) -> dict[str, Any]:
        with self._lock:
            return {
                t: {
                    "minute_used": self._minute[t].used,
                    "day_used": self._day.get(t, Window()).used,
                    # When the organisation's day turns (sandbox clock, epoch seconds): a test
                    # sets the clock just before it to see a day limit's wait end.
                    "day_resets_at": self._day[t].start + 86400 if t in self._day else None,
                    "in_flight": self._in_flight.get(t, 0),
                }
                for t in self._minute
            }

    def app_usage(self) -> dict[str, Any]:
        """The app-wide minute window: calls admitted in it and when it started."""
        with self._lock:
            return {"minute_used": self._app.used, "minute_started": self._app.start}
