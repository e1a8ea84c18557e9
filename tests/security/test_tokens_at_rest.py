"""Xero tokens at rest: a database dump holds them only encrypted, and the key-rotation drill
(new key first, re-encrypt, drop the old key) leaves a connection that still works against the
sandbox, calls and refreshes included."""

import io
import os
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection as db_connection

from xero_sync.client import XeroClient
from xero_sync.connection import token_vault
from xero_sync.connection.tokens import access_token_for
from xero_sync.models import ConnectionStatus, XeroConnection

from ..xero_sync.conftest import KIWI, connect

KEY_DROPPED_TOO_EARLY = "a key was removed before its tokens were re-encrypted"


def database_dump() -> str:
    """The test database as /usr/bin/pg_dump writes it (a session of its own: the rows must
    be committed, hence transaction=True on the test)."""
    db = db_connection.settings_dict
    env = os.environ | ({"PGPASSWORD": db["PASSWORD"]} if db["PASSWORD"] else {})
    return subprocess.run(
        ["/usr/bin/pg_dump", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
        + ["-U", db["USER"], db["NAME"]],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    ).stdout


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_the_tokens_only_encrypted(xero, account, admin_user):
    connection = connect(xero, account, admin_user)
    access = token_vault.decrypt(connection.access_token_encrypted)
    refresh = token_vault.decrypt(connection.refresh_token_encrypted)
    assert access and refresh  # what the sandbox issued

    dump = database_dump()

    # Nor any telling part: the access token's own signature (a JWT's last segment).
    for secret in (access, access.rsplit(".", 1)[-1], refresh):
        assert secret not in dump
    # The dump does hold the tokens, as the vault sealed them.
    assert connection.access_token_encrypted in dump
    assert connection.refresh_token_encrypted in dump


def sealed_with(key: str, ciphertext: str) -> str:
    """The plaintext, read with this one key only (raises if another key sealed it)."""
    return Fernet(key).decrypt(ciphertext.encode()).decode()


@pytest.mark.django_db
def test_the_key_rotation_drill_keeps_the_connection_working(xero, account, admin_user, settings):
    connection = connect(xero, account, admin_user)
    old_key, new_key = settings.XERO_TOKEN_KEYS[0], Fernet.generate_key().decode()
    access_before = token_vault.decrypt(connection.access_token_encrypted)

    settings.XERO_TOKEN_KEYS = [new_key, old_key]
    out = io.StringIO()
    call_command("xero_rotate_token_keys", stdout=out)
    assert "1 connections" in out.getvalue()
    settings.XERO_TOKEN_KEYS = [new_key]

    connection = XeroConnection.objects.get(pk=connection.pk)
    # Re-encrypted with the new key, not merely still readable while both keys were there.
    assert sealed_with(new_key, connection.access_token_encrypted) == access_before
    assert sealed_with(new_key, connection.refresh_token_encrypted)
    assert XeroClient(connection).organisation().name == KIWI

    # The refresh token, read with the new key, is the one the sandbox issued: it takes it.
    access_after = access_token_for(connection, force_refresh=True)
    assert access_after != access_before
    connection = XeroConnection.objects.get(pk=connection.pk)
    assert sealed_with(new_key, connection.access_token_encrypted) == access_after
    assert XeroClient(connection).organisation().name == KIWI
    assert connection.status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_dropping_the_old_key_before_rotating_says_so_and_loses_nothing(
    xero, account, admin_user, settings
):
    connection = connect(xero, account, admin_user)
    old_key = settings.XERO_TOKEN_KEYS[0]
    settings.XERO_TOKEN_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured, match=KEY_DROPPED_TOO_EARLY):
        XeroClient(XeroConnection.objects.get(pk=connection.pk)).organisation()
    with pytest.raises(ImproperlyConfigured, match=KEY_DROPPED_TOO_EARLY):
        call_command("xero_rotate_token_keys", stdout=io.StringIO())

    # A configuration mistake, not a lost grant: put the key back and all is as it was.
    settings.XERO_TOKEN_KEYS = [old_key]
    connection = XeroConnection.objects.get(pk=connection.pk)
    assert connection.status == ConnectionStatus.CONNECTED
    assert XeroClient(connection).organisation().name == KIWI
