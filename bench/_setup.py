"""Shared by the benchmarks that talk to Xero: a world of their own (database, Redis DB, sandbox
subprocess, settings), an organisation connected without a browser, and a real Celery worker.

    with bench_world("bench_x", "redis://127.0.0.1:6379/13", "bench-x-", {...}) as (sandbox, tmp):
        ...

Everything is torn down at the end, failure or not: the sandbox stopped, the database dropped,
the Redis DB flushed, the scratch directory removed."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def bench_world(
    database: str,
    redis_url: str,
    scratch_prefix: str,
    settings: dict | None = None,
    *,
    keep_database: bool = False,
):
    """Yields (sandbox handle, scratch dir) with os.environ set for Django (not yet set up):
    production settings, a throwaway key, this database and Redis DB, pointed at the sandbox."""
    import redis
    from cryptography.fernet import Fernet

    from xero_sandbox.process import start_sandbox, stop_sandbox

    redis.Redis.from_url(redis_url).flushdb()
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix))
    process = None
    try:
        process, sandbox = start_sandbox(scratch / "sandbox.log", "--orgs", "none")
        os.environ.update(
            DJANGO_SETTINGS_MODULE="platform_crm.settings",
            # Production settings (DEBUG off: no SQL kept per query), a throwaway key.
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production",
            LOG_LEVEL="WARNING",
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
            REDIS_URL=redis_url,
            CACHE_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            XERO_SANDBOX_URL=sandbox.url,
            XERO_CLIENT_ID=sandbox.client_id,
            XERO_CLIENT_SECRET=sandbox.client_secret,
            XERO_WEBHOOK_KEY=sandbox.webhook_key,
            XERO_TOKEN_KEYS=Fernet.generate_key().decode(),
            **(settings or {}),
        )
        yield sandbox, scratch
    finally:
        if process is not None:
            stop_sandbox(process)
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep_database:
            with psycopg.connect(SERVER, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        redis.Redis.from_url(redis_url).flushdb()
        shutil.rmtree(scratch, ignore_errors=True)


def connection_make(sandbox, account, tenant_id: str, tenant_name: str):
    """A connected XeroConnection for `account`, with a fresh token from the sandbox (the
    consent step without a browser) and our shared rate-limit state for the org cleared."""
    from datetime import timedelta

    from django.utils import timezone

    from xero_sync.client.limits import TenantLimiter
    from xero_sync.connection.tokens import TokenSet, connection_store_tokens
    from xero_sync.models import ConnectionStatus, XeroConnection

    token = sandbox.token_for(tenant_id)
    connection = XeroConnection(
        account=account,
        status=ConnectionStatus.CONNECTED,
        tenant_id=tenant_id,
        tenant_name=tenant_name,
        connected_at=timezone.now(),
    )
    connection_store_tokens(
        connection,
        TokenSet(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            expires_at=timezone.now() + timedelta(seconds=int(token["expires_in"])),
            scopes=token["scope"],
            id_token=token.get("id_token", ""),
        ),
    )
    connection.save()
    TenantLimiter(tenant_id).reset()
    return connection


def gst_mapped(connection):
    """A CRM tax rate GST 15% on the connection's account, mapped to Xero's OUTPUT2."""
    from decimal import Decimal

    from taxes.services import tax_rate_create
    from xero_sync.taxes import services as tax_services

    components = [("GST", Decimal(15), False)]
    gst = tax_rate_create(account=connection.account, name="GST 15%", components=components)
    tax_services.xero_tax_rates_refresh(connection)
    tax_services.tax_mapping_set(
        connection=connection, tax_rate=gst, xero_tax_type="OUTPUT2", user=None
    )
    return gst


@contextmanager
def celery_worker(log_path: Path, env: dict, concurrency: int = 1, name: str = ""):
    """A real worker process on every queue (prefork, `-c concurrency`), started with `env` as
    its whole environment; yields the Popen once it says ready, stops it at the end. `name`
    (its node name's first part) tells several workers on one machine apart."""
    with log_path.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "platform_crm",
                "worker",
                "-Q",
                "xero,email,default",
                "-c",
                str(concurrency),
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *(["-n", f"{name}@%h"] if name else []),
            ],
            cwd=ROOT,
            # INFO: the worker says "ready." (and logs its tasks, retries included).
            env={**env, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text() and process.poll() is None:
            if time.monotonic() > deadline:
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"celery worker not ready after 60 s:\n{tail}")
            time.sleep(0.1)
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{log_path.read_text()[-3000:]}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
