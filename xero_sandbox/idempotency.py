"""Idempotency-Key replay: the first response to (tenant, key) is kept for the cache window and
returned verbatim for every replay; nothing is created twice."""

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    key: str
    tenant_id: str
    method: str
    path: str
    body_sha256: str
    first_seen: float
    status: int
    headers: dict[str, str]
    body: bytes
    replays: int = 0
    replay_times: list[float] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "tenant_id": self.tenant_id,
            "method": self.method,
            "path": self.path,
            "first_seen": self.first_seen,
            "status": self.status,
            "replays": self.replays,
            "replay_times": self.replay_times,
        }


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class IdempotencyCache:
    """Callers hold the store lock, so a key's check-then-record is atomic."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}

    def reset(self) -> None:
        self._entries.clear()

    def find(self, tenant_id: str, key: str, now: float, window: float) -> Entry | None:
        entry = self._entries.get((tenant_id, key))
        if entry and now - entry.first_seen > window:
            del self._entries[(tenant_id, key)]
            return None
        return entry

    def record(self, entry: Entry) -> None:
        self._entries[(entry.tenant_id, entry.key)] = entry

    def log(self) -> list[dict[str, Any]]:
        return [entry.public() for entry in self._entries.values()]
