"""The Sandbox object: every piece of state one running sandbox owns, wired together."""

import collections
import copy
import gc
import itertools
import threading
import time
from datetime import UTC, datetime
from typing import Any

from .clock import Clock
from .config import Settings, as_dict, update_dataclass
from .faults import Faults
from .idempotency import IdempotencyCache
from .identity import Identity
from .limits import RateLimiter
from .msdates import ms_datetime
from .store import Store, Tenant, build_tenant
from .webhooks import Webhooks
from .wire import Request, Response

REQUEST_LOG_SIZE = 20000
OWN_LIMITS = "SandboxLimits"  # in a seeded org: limits of its own (limits.PER_ORG)
# Response bodies are kept for contract checks, bounded: each at most RESPONSE_BODY_CAP bytes
# (longer ones are cut and flagged), and all of them together at most RESPONSE_BODIES_BUDGET,
# dropping the oldest bodies first (their entries stay, with response_body None).
RESPONSE_BODY_CAP = 1 << 20
RESPONSE_BODIES_BUDGET = 64 << 20


class Sandbox:
    def __init__(self, settings: Settings | None = None, base_url: str = "") -> None:
        self.settings = settings or Settings()
        self.clock = Clock()
        self.store = Store()
        self.identity = Identity(self.clock, self.settings)
        self.limits = RateLimiter(self.clock, self.settings.limits, self.settings.behaviour)
        self.faults = Faults()
        self.idempotency = IdempotencyCache()
        self.webhooks = Webhooks(self.settings.webhooks, self.clock, base_url)
        self.requests: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=REQUEST_LOG_SIZE
        )
        # (entry, size), oldest first
        self._bodies: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self._bodies_size = 0
        self._request_ids = itertools.count(1)
        self._log_lock = threading.Lock()
        # Bytes of response bodies sent per (organisation, UTC day of the sandbox clock), kept
        # apart from the bounded log so a long run's egress stays whole.
        self._egress: dict[tuple[str, str], list[int]] = {}
        self.initial_orgs: list[dict[str, Any]] = []  # raw seed output, reloaded by reset
        self.changed = threading.Event()  # set on every write, for the state file
        self._initial_settings = copy.deepcopy(self.settings)

    def freeze_settings(self) -> None:
        """What `reset` restores: the settings as they are now (after CLI flags)."""
        self._initial_settings = copy.deepcopy(self.settings)

    def _restore_settings(self) -> None:
        # In place: the limiter and webhook worker hold these very objects.
        initial, current = self._initial_settings, self.settings
        current.client_id, current.client_secret = initial.client_id, initial.client_secret
        for part in ("behaviour", "limits", "webhooks"):
            update_dataclass(getattr(current, part), copy.deepcopy(as_dict(getattr(initial, part))))

    @property
    def base_url(self) -> str:
        return self.webhooks.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.webhooks.base_url = value

    # seeding ---------------------------------------------------------------------------
    def load_orgs(self, orgs: list[dict[str, Any]], *, replace: bool = False) -> list[Tenant]:
        """Add seeded orgs; an org's "SandboxLimits" ({per_day: 1000}, ...) become its own."""
        stamp = ms_datetime(self.clock.now())
        tenants = [build_tenant(org, stamp) for org in orgs]
        with self.store.lock:
            if replace:
                self.store.reset()
            for tenant in tenants:
                self.store.add(tenant)
        for tenant, org in zip(tenants, orgs, strict=True):
            if org.get(OWN_LIMITS):
                self.limits.set_org_limits(tenant.id, org[OWN_LIMITS])
        # Seeded data lives until a reset: keep it out of the cyclic collector's full passes,
        # which otherwise walk millions of its objects (a pause of hundreds of milliseconds in
        # whichever request set one off). Refcounting still frees it when it goes; the collect
        # first keeps garbage cycles of the moment from being frozen with it.
        gc.collect()
        gc.freeze()
        self.changed.set()
        return tenants

    def reset(self, *, reseed: bool = True) -> None:
        """Back to the state right after start-up: seed data, no tokens, no logs, no faults."""
        self.faults.clear()
        self._restore_settings()
        with self.store.lock:
            self.store.reset()
            self.identity.reset()
            self.idempotency.reset()
            self.clock.reset()
            self.limits.reset()
            self.limits.clear_org_limits()
        self.webhooks.reset()
        self.clear_request_log()
        if reseed and self.initial_orgs:
            self.load_orgs(self.initial_orgs)

    # request log -------------------------------------------------------------------------
    def log_request(self, request: Request, tenant_id: str = "") -> dict[str, Any]:
        entry = {
            "id": next(self._request_ids),
            "time": self.clock.time(),
            "wall_time": time.time(),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", "replace"),
            "tenant_id": tenant_id or request.header("xero-tenant-id"),
            "status": None,
            "dropped": False,
            "fault": None,
            "response_headers": {},
            "response_body": None,
            "response_truncated": False,
            "response_bytes": 0,
        }
        with self._log_lock:
            self.requests.append(entry)
        return entry

    def log_response(self, entry: dict[str, Any], response: Response) -> None:
        """Keep what was answered: status, headers (Content-Type included) and the body, bounded."""
        entry["status"] = None if response.drop else response.status
        entry["dropped"] = response.drop
        if response.drop:
            return
        body = response.body[:RESPONSE_BODY_CAP]
        entry["response_bytes"] = len(response.body)
        tenant = entry["tenant_id"].strip().lower()
        day = datetime.fromtimestamp(entry["time"], UTC).date().isoformat()
        with self._log_lock:
            if tenant:
                counted = self._egress.setdefault((tenant, day), [0, 0])
                counted[0] += len(response.body)
                counted[1] += 1
            entry["response_headers"] = {"Content-Type": response.content_type, **response.headers}
            entry["response_body"] = body.decode("utf-8", "replace")
            entry["response_truncated"] = len(response.body) > RESPONSE_BODY_CAP
            self._bodies.append((entry, len(body)))
            self._bodies_size += len(body)
            while self._bodies_size > RESPONSE_BODIES_BUDGET and len(self._bodies) > 1:
                old, size = self._bodies.popleft()
                old["response_body"] = None
                self._bodies_size -= size

    def clear_request_log(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self._bodies.clear()
            self._bodies_size = 0
            self._egress.clear()

    def egress(self, tenant: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
        """Response body bytes sent per organisation per UTC day (of the sandbox clock), as
        Xero bills data egress: every Accounting API answer to that xero-tenant-id counts."""
        with self._log_lock:
            rows = [
                {"tenant": t, "day": d, "bytes": counted[0], "responses": counted[1]}
                for (t, d), counted in self._egress.items()
                if (tenant is None or t == tenant.lower()) and (day is None or d == day)
            ]
        return sorted(rows, key=lambda r: (r["tenant"], r["day"]))

    def request_log(self) -> list[dict[str, Any]]:
        with self._log_lock:
            return list(self.requests)
