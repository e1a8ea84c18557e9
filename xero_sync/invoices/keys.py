"""Idempotency keys: a digest of what makes a request the same request."""

import hashlib
from collections.abc import Iterable


def digest(parts: Iterable[object]) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:48]
