"""Decide where `make dev` keeps its data and queues, and write var/dev.env for every process.

PostgreSQL and Redis are used when reachable (DATABASE_URL, REDIS_URL, or the local defaults).
Otherwise: SQLite for the database; for the broker, a local redis-server started here if one is
installed, else Celery's filesystem transport. Each choice is printed, with how to get the real
service, so a missing service never ends in a stack trace.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/platform_crm"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SANDBOX_URL = "http://127.0.0.1:8765"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith("postgres"):
        return url
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    try:
        with psycopg.connect(maintenance, connect_timeout=3, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
                say(f"created PostgreSQL database {name}")
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        say(f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} ({first_line}).")
        say(
            "  To use it: start PostgreSQL (e.g. `pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start`) or set DATABASE_URL."
        )
        sqlite = VAR / "dev.sqlite3"
        say(f"  Using SQLite at {sqlite.relative_to(ROOT)} for now.")
        return f"sqlite:///{sqlite}"
    say(f"database: PostgreSQL {parts.hostname}:{parts.port or 5432}/{name}")
    return url


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def redis_url() -> tuple[str, str]:
    """(REDIS_URL, CELERY_BROKER_URL)."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_reachable(url):
        say(f"broker: Redis at {url}")
        return url, os.environ.get("CELERY_BROKER_URL", url)
    say(f"Redis is not reachable at {url}.")
    server = shutil.which("redis-server")
    if server:
        port = urlsplit(url).port or 6379
        subprocess.run(  # noqa: S603  (our own argv, no shell)
            [
                server,
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(VAR),
                "--logfile",
                str(VAR / "redis.log"),
                "--pidfile",
                str(VAR / "redis.pid"),
            ],
            check=False,
        )
        for _ in range(50):
            if redis_reachable(url):
                say(f"  started a local redis-server on port {port} (log: var/redis.log)")
                return url, url
            time.sleep(0.1)
        say("  redis-server did not come up; see var/redis.log.")
    say("  No Redis: Celery uses its filesystem transport in var/broker (dev only; no rate-limit")
    say("  coordination across workers). Install Redis (apt-get install redis-server) or set")
    say("  REDIS_URL for the real thing.")
    (VAR / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    return url, "filesystem://"


def xero_settings() -> dict[str, str]:
    """Real Xero when its credentials are in the environment; otherwise the local sandbox."""
    key_file = VAR / "xero-token-key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.write_text(Fernet.generate_key().decode())
    values = {"XERO_TOKEN_KEYS": os.environ.get("XERO_TOKEN_KEYS", key_file.read_text().strip())}
    if os.environ.get("XERO_CLIENT_ID"):
        say("xero: real Xero (XERO_CLIENT_ID is set)")
        return values
    say(f"xero: the local sandbox at {SANDBOX_URL}")
    return values | {
        "XERO_SANDBOX_URL": SANDBOX_URL,
        "XERO_CLIENT_ID": "sandbox-client-id",
        "XERO_CLIENT_SECRET": "sandbox-client-secret",
        "XERO_WEBHOOK_KEY": "sandbox-webhook-key",
    }


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else VAR / "dev.env"
    VAR.mkdir(exist_ok=True)
    db = database_url()
    redis, broker = redis_url()
    values = {
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": db,
        # runserver answers each request in a thread of its own, and a persistent connection
        # stays open after its thread is gone: a burst of webhooks ran PostgreSQL out of
        # connections ("too many clients", 20 of 500 answered 500). Close each at request end.
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": os.environ.get("EMAIL_URL", "consolemail://"),
        "SITE_URL": os.environ.get("SITE_URL", "http://localhost:8000"),
        # Flower reads this itself: user:password for http://localhost:5555.
        "FLOWER_BASIC_AUTH": os.environ.get("FLOWER_BASIC_AUTH", "ops:ops-dev"),
        **xero_settings(),
    }
    out.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
