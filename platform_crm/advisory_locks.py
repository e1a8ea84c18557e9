"""Session-level PostgreSQL advisory locks: one holder per key across every process, and a
holder that dies (a worker SIGKILLed mid-task) holds nothing, since its database session ends
with it. Long jobs take one for their whole run, so a redelivered or re-queued copy of the
same job cannot run alongside it; sweeps ask whether anyone holds it to tell a live job from
a lost one."""

import contextlib
from collections.abc import Iterator

from django.db import DatabaseError
from django.db import connection as db_connection


@contextlib.contextmanager
def advisory_lock(key: str) -> Iterator[bool]:
    """Try to take the lock `key` for the duration of the block; yields whether this session
    holds it (never waits)."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            # A session already gone (the database restarted) has released it anyway.
            with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def advisory_lock_free(key: str) -> bool:
    """Whether no session holds the lock `key` right now."""
    with advisory_lock(key) as held:
        return held
