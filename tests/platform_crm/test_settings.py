"""Settings come from the environment and fail fast, in words, when something is missing."""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import environ
import psycopg
import pytest

from ..support.waiting import wait_until
from ..workers import database_url_for_tests

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_LIKE = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "SITE_URL": "https://crm.example.com",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "EMAIL_URL": "smtp+tls://user:password@smtp.example.com:587",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/platform_crm",
    "XERO_CLIENT_ID": "client-id",
    "XERO_CLIENT_SECRET": "client-secret",
    "XERO_WEBHOOK_KEY": "webhook-key",
    "XERO_TOKEN_KEYS": "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0xMjM0NTY3ODk=",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SITE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "platform_crm.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.django_db
def test_check_deploy_passes_with_production_like_values():
    # The model checks ask the database what it supports (generated columns): give them one.
    env = {**PRODUCTION_LIKE, "DATABASE_URL": database_url_for_tests()}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_check_deploy_names_what_is_missing():
    env = {
        **PRODUCTION_LIKE,
        "DATABASE_URL": database_url_for_tests(),
        "DJANGO_SECRET_KEY": "",
        "SITE_URL": "http://crm.example.com",
        "XERO_CLIENT_SECRET": "",
        "XERO_TOKEN_KEYS": "not-a-fernet-key",
    }
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "SITE_URL is 'http://crm.example.com'" in result.stderr
    assert "XERO_CLIENT_SECRET not set" in result.stderr
    assert "XERO_TOKEN_KEYS must hold one or more Fernet keys" in result.stderr
    assert "Traceback" not in result.stderr


def run_dev_env(*args, cwd, env):
    """scripts/dev_env.py run from a copy of the script in `cwd`, so var/ (and var/pg) is the
    test's own and never a developer's."""
    script = cwd / "scripts" / "dev_env.py"
    script.parent.mkdir(exist_ok=True)
    shutil.copy(ROOT / "scripts" / "dev_env.py", script)
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def checkout(tmp_path_factory):
    """A folder standing for a checkout that every user can walk into: as root, the embedded
    PostgreSQL runs as a system user, and pytest's own temporary folders are root's alone."""
    folder = tmp_path_factory.mktemp("checkout")
    for path in [folder, *folder.parents]:
        if path == Path(tempfile.gettempdir()):
            break
        path.chmod(path.stat().st_mode | 0o711)
    return folder


def test_dev_environment_without_postgresql_runs_a_real_one_from_the_wheel(checkout):
    tmp_path = checkout
    # Nothing listens on port 1: `make dev` must say so and start the embedded PostgreSQL in
    # var/pg, reached by a Unix socket in that folder, not fall back to another database.
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/platform_crm", "LC_ALL": "C"}
    result = run_dev_env(str(tmp_path / "dev.env"), cwd=tmp_path, env=env)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "PostgreSQL is not reachable at 127.0.0.1:1" in result.stdout
        assert "pg_ctlcluster" in result.stdout
        assert "database: embedded PostgreSQL 18." in result.stdout
        lines = (tmp_path / "dev.env").read_text().splitlines()
        written = dict(line.split("=", 1) for line in lines)
        assert written["DATABASE_URL"].startswith("postgres://postgres@//")
        # Django reads it as the socket folder and the database name, as `make dev` will.
        db = environ.Env.db_url_config(written["DATABASE_URL"])
        assert db["ENGINE"] == "django.db.backends.postgresql", db
        assert (db["NAME"], db["USER"]) == ("platform_crm", "postgres")
        assert Path(db["HOST"], ".s.PGSQL.5432").is_socket()
        with psycopg.connect(host=db["HOST"], dbname=db["NAME"], user="postgres") as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)  # no TCP at all
            # Contact search compares UPPER of both sides: initdb ran under C.UTF-8, not the
            # caller's C locale, so non-ASCII letters change case too.
            assert conn.execute("SELECT upper('é'), lower('Ö')").fetchone() == ("É", "ö")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # the contact search indexes
            assert conn.execute("SELECT similarity('Aroha', 'Arohaa') > 0.5").fetchone() == (True,)
        assert not [p for p in tmp_path.rglob("*") if p.is_file() and is_sqlite(p)]

        again = run_dev_env(str(tmp_path / "dev.env"), cwd=tmp_path, env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "(was running" in again.stdout  # reused, not started twice

        stopped = run_dev_env("--stop-db", cwd=tmp_path, env=env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert "stopped the embedded PostgreSQL in var/pg" in stopped.stdout
        assert not (tmp_path / "var" / "pg" / "postmaster.pid").exists()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host=db["HOST"], dbname=db["NAME"], user="postgres")
        assert run_dev_env("--stop-db", cwd=tmp_path, env=env).stdout == ""  # nothing left to stop

        if os.geteuid() == 0:
            # As root the server runs as a system user; var/pg kept from a machine where that user
            # had another uid is handed over again, not refused file by file.
            for path in [tmp_path / "var" / "pg", *(tmp_path / "var" / "pg").rglob("*")]:
                os.lchown(path, 4242, 4242)
            moved = run_dev_env(str(tmp_path / "dev.env"), cwd=tmp_path, env=env)
            assert moved.returncode == 0, moved.stdout + moved.stderr
            assert "(start " in moved.stdout
    finally:
        run_dev_env("--stop-db", cwd=tmp_path, env=env)


def test_dev_environment_refuses_a_database_other_than_postgresql(tmp_path):
    result = run_dev_env(
        str(tmp_path / "dev.env"), cwd=tmp_path, env={"DATABASE_URL": "sqlite:///dev.sqlite3"}
    )
    assert result.returncode == 1
    assert "the product runs on PostgreSQL only" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "dev.env").exists()


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def test_migrations_match_the_models():
    # A PostgreSQL that is not there: the check is about the code, not any database's history
    # (the system checks, which would ask the server its version, are skipped).
    env = {"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none"}
    result = manage("makemigrations", "--check", "--dry-run", "--skip-checks", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dev_server_keeps_no_database_connection_after_a_burst(tmp_path):
    """runserver answers each request in its own thread; with persistent connections each thread
    left one open, and a 16-thread webhook flood ran PostgreSQL out of them ("too many clients").
    The server runs here exactly as `make dev` starts it, on a port of its own."""
    import socket
    import time
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit, urlunsplit
    from urllib.request import urlopen

    import psycopg

    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm"))
    name = f"{url.path.lstrip('/')}_devserver"
    dev_env = tmp_path / "dev.env"
    env = {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path=f"/{name}"))}
    subprocess.run(
        [sys.executable, "scripts/dev_env.py", str(dev_env)], cwd=ROOT, env=env, check=True
    )
    values = dict(line.split("=", 1) for line in dev_env.read_text().splitlines())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env={**clean, **values, "DJANGO_SETTINGS_MODULE": "platform_crm.settings"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    maintenance = urlunsplit(url._replace(path="/postgres", scheme="postgresql"))
    try:
        health = f"http://127.0.0.1:{port}/healthz"

        def serving() -> bool:
            try:
                urlopen(health, timeout=2).read()
            except OSError:
                return False
            return True

        wait_until(serving, 20, 0.2)
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: urlopen(health, timeout=10).status, range(160)))
        assert statuses == [200] * 160
        time.sleep(0.5)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            (held,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchall()[0]
        assert held == 0, f"the dev server still holds {held} connections"
    finally:
        server.terminate()
        server.wait(timeout=10)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
