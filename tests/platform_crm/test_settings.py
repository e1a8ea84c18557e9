"""Settings come from the environment and fail fast, in words, when something is missing."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_dev_environment_falls_back_and_says_how_to_get_the_real_services(tmp_path):
    # Nothing listens on port 1: the run command must explain, not crash.
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/platform_crm",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "scripts/dev_env.py", str(tmp_path / "dev.env")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in result.stdout
    assert "pg_ctlcluster" in result.stdout
    assert "Using SQLite" in result.stdout
    written = (tmp_path / "dev.env").read_text()
    assert "DATABASE_URL=sqlite:///" in written


def test_migrations_match_the_models():
    # An empty in-memory database: the check is about the code, not any database's history.
    env = {"DJANGO_DEBUG": "1", "DATABASE_URL": "sqlite://:memory:"}
    result = manage("makemigrations", "--check", "--dry-run", env=env)
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
        for _ in range(100):
            try:
                urlopen(health, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: urlopen(health, timeout=10).status, range(160)))
        assert answers == [200] * 160
        time.sleep(0.5)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            held = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]
            ).fetchone()[0]
        assert held == 0, f"the dev server still holds {held} connections"
    finally:
        server.terminate()
        server.wait(timeout=10)
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
