"""Injected failures, matched by method and path pattern, for the next N calls (optionally
after letting some through) or with a probability drawn from a seeded RNG (so a flaky run can
be replayed).

Kinds: "status" (500, 503, ...), "latency" (add delay, then serve), "timeout" (hold the response
longer than any sane client timeout, then serve), "drop" (close the connection without a
response) and "lost_response" (commit the write, then drop the connection)."""

import fnmatch
import itertools
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("status", "latency", "timeout", "drop", "lost_response")


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path: str = "*"
    status: int = 500
    body: str | None = None
    seconds: float = 0.0
    count: int | None = 1  # None: every matching call (subject to probability)
    probability: float = 1.0
    seed: int = 0
    after: int = 0  # let this many matching calls through before firing
    id: int = 0
    fired: int = 0
    _rng: random.Random = field(default=None, repr=False)  # type: ignore[assignment]

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        return fnmatch.fnmatch(path.lower(), self.path.lower())

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_rng")
        return data


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []
        self._ids = itertools.count(1)
        # Set on clear so requests held by "timeout" faults finish promptly at test teardown.
        self.wake = threading.Event()

    def add(self, spec: dict[str, Any]) -> Fault:
        spec = {
            k: v
            for k, v in spec.items()
            if k in Fault.__dataclass_fields__ and not k.startswith("_")
        }
        fault = Fault(**spec)
        fault.seconds, fault.probability = float(fault.seconds), float(fault.probability)
        if fault.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if fault.kind == "timeout" and not fault.seconds:
            fault.seconds = 30.0
        fault.method = fault.method.upper()
        fault.id = next(self._ids)
        fault._rng = random.Random(fault.seed)
        with self._lock:
            self.wake.clear()
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
        self.wake.set()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.public() for rule in self._rules]

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this call, spending one of its `count` if it fires."""
        with self._lock:
            for rule in self._rules:
                if rule.count is not None and rule.count <= 0:
                    continue
                if not rule.matches(method, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.probability < 1.0 and rule._rng.random() >= rule.probability:
                    continue
                if rule.count is not None:
                    rule.count -= 1
                rule.fired += 1
                return rule
        return None

    def sleep(self, seconds: float) -> None:
        self.wake.wait(seconds)
