"""Settings for the test suite: the real settings, with test defaults for what the environment
leaves unset. Tests talk to real PostgreSQL and Redis (a separate Redis database number, so a
running dev instance is not disturbed)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/14")


def _redis_for_xdist_worker(name: str) -> None:
    """Under pytest-xdist (`make test` runs two processes) each process has its own broker and
    cache: worker gwN takes the databases 2N below the ones given (15/14 for gw0, 13/12 for
    gw1), as it has its own test database (pytest-django suffixes its name)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    offset = 2 * int(worker.removeprefix("gw") or 0)
    base, _, number = os.environ[name].rpartition("/")
    if offset and number.isdigit():
        os.environ[name] = f"{base}/{(int(number) - offset) % 16}"


# Once per test process: the processes it starts (Celery workers, beats) inherit both the
# moved URLs and PYTEST_XDIST_WORKER, and must not move them again.
if os.environ.get("TESTS_REDIS_MOVED_FOR") != os.environ.get("PYTEST_XDIST_WORKER", "gw0"):
    _redis_for_xdist_worker("REDIS_URL")
    _redis_for_xdist_worker("CACHE_URL")
    os.environ["TESTS_REDIS_MOVED_FOR"] = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
# The sandbox's default app credentials; its URL is set per test by the xero fixtures.
os.environ.setdefault("XERO_CLIENT_ID", "sandbox-client-id")
os.environ.setdefault("XERO_CLIENT_SECRET", "sandbox-client-secret")
os.environ.setdefault("XERO_WEBHOOK_KEY", "sandbox-webhook-key")
os.environ.setdefault("XERO_TOKEN_KEYS", "7b8JbTqzX3YtG3m4p0s1lJ6eTn0mQ2r5W9y8v4Zk1c0=")

from platform_crm.settings import *  # noqa: E402, F403

# Production serves hashed, compressed files after collectstatic; tests render without it.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Password hashing is deliberately slow; tests log in hundreds of times.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT = None  # nothing is collected in tests; whitenoise serves from the finders
