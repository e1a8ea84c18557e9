"""Outgoing webhooks as Xero sends them: several events per signed POST, sequence numbers and
entropy, retried with backoff. Delivery runs on a background thread so API calls never wait."""

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from . import jsonio
from .clock import Clock
from .config import WebhookSettings


def sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def post(url: str, body: bytes, signature: str, timeout: float) -> tuple[int, str]:
    """(status, error); status 0 when nothing came back."""
    request = urllib.request.Request(  # noqa: S310 (the configured receiver URL)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "x-xero-signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (configured URL)
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError as error:
        return 0, f"{type(error).__name__}: {error}"


@dataclass
class Delivery:
    id: int
    url: str
    body: bytes
    signature: str
    events: int
    next_attempt: float = 0.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "pending"  # pending | delivered | failed

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "payload": jsonio.loads(self.body),
            "body": self.body.decode(),
            "signature": self.signature,
            "events": self.events,
            "attempts": self.attempts,
            "state": self.state,
        }


class Webhooks:
    def __init__(self, settings: WebhookSettings, clock: Clock, base_url: str = "") -> None:
        self.settings, self.clock, self.base_url = settings, clock, base_url
        self._cond = threading.Condition()
        self._events: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self._sequence = itertools.count(1)
        self._ids = itertools.count(1)
        self._busy = False
        self.emitted: list[dict[str, Any]] = []
        threading.Thread(target=self._run, name="xero-sandbox-webhooks", daemon=True).start()

    def reset(self) -> None:
        with self._cond:
            self._events.clear()
            self._deliveries.clear()
            self.emitted.clear()
            self._cond.notify_all()

    def emit(
        self,
        tenant_id: str,
        category: str,
        event_type: str,
        resource_id: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        """`data` rides on the event as Xero's CREDITNOTE events carry {Type, Status}."""
        plural = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}[
            category
        ]
        event: dict[str, Any] = {
            "resourceUrl": f"{self.base_url}/api.xro/2.0/{plural}/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        if data is not None:
            event["data"] = data
        with self._cond:
            self.emitted.append(event)
            if self.settings.url:
                self._events.append(event)
                self._cond.notify_all()

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return [d.public() for d in self._deliveries]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was delivered or gave up retrying."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._events or self._busy or any(d.state == "pending" for d in self._deliveries):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    # the worker ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._events and not self._due():
                    self._cond.wait(self._sleep_for())
                self._busy = True
            try:
                if self._events:
                    time.sleep(self.settings.batch_seconds)  # let a burst share one POST
                    self._batch()
                for delivery in self._due():
                    self._attempt(delivery)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _due(self) -> list[Delivery]:
        now = time.monotonic()
        return [d for d in self._deliveries if d.state == "pending" and d.next_attempt <= now]

    def _sleep_for(self) -> float:
        pending = [d.next_attempt for d in self._deliveries if d.state == "pending"]
        return max(min(pending) - time.monotonic(), 0.01) if pending else 1.0

    def _batch(self) -> None:
        with self._cond:
            events, self._events = self._events, []
        # The webhooks spec gives credit notes a payload of their own (CreditNoteWebhookEvent:
        # every event CREDITNOTE, with data), so they travel apart from the other categories.
        credit = [e for e in events if e["eventCategory"] == "CREDITNOTE"]
        other = [e for e in events if e["eventCategory"] != "CREDITNOTE"]
        for batch in (other, credit):
            if batch:
                self._deliver(batch)

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        first = next(self._sequence)
        for _ in events[1:]:
            last = next(self._sequence)
        payload = {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": first if len(events) == 1 else last,
            "entropy": secrets.token_hex(10).upper(),
        }
        body = jsonio.dumps_bytes(payload)
        delivery = Delivery(
            id=next(self._ids),
            url=self.settings.url,
            body=body,
            signature=sign(body, self.settings.key),
            events=len(events),
        )
        with self._cond:
            self._deliveries.append(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        status, error = post(
            delivery.url, delivery.body, delivery.signature, self.settings.timeout_seconds
        )
        with self._cond:
            delivery.attempts.append({"at": self.clock.time(), "status": status, "error": error})
            if status == 200:
                delivery.state = "delivered"
                return
            retries = self.settings.retry_delays
            if len(delivery.attempts) > len(retries):
                delivery.state = "failed"  # Xero would disable the subscription here
                return
            delivery.next_attempt = time.monotonic() + retries[len(delivery.attempts) - 1]

    # checks Xero runs against a receiver ----------------------------------------------
    def send_signed(
        self, events: list[dict[str, Any]], *, good_signature: bool, url: str = ""
    ) -> dict[str, Any]:
        payload = {
            "events": events,
            "firstEventSequence": 0,
            "lastEventSequence": 0,
            "entropy": secrets.token_hex(10).upper(),
        }
        body = jsonio.dumps_bytes(payload)
        key = self.settings.key if good_signature else secrets.token_urlsafe(16)
        status, error = post(
            url or self.settings.url, body, sign(body, key), self.settings.timeout_seconds
        )
        return {"good_signature": good_signature, "status": status, "error": error}

    def intent_to_receive(self, rounds: int = 3) -> dict[str, Any]:
        """Xero's check: 200 for every correctly signed empty payload, 401 for every bad one."""
        results = []
        for i in range(rounds * 2):
            results.append(self.send_signed([], good_signature=i % 2 == 0))
        ok = all(r["status"] == (200 if r["good_signature"] else 401) for r in results)
        return {"ok": ok, "results": results}
