"""The sandbox clock: real time plus an offset, so tests can jump 61 days without waiting."""

import threading
import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def offset(self) -> float:
        return self._offset

    def set(self, epoch_seconds: float) -> None:
        with self._lock:
            self._offset = epoch_seconds - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
