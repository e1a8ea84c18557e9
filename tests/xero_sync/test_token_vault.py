import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from xero_sync.connection import token_vault


def test_tokens_are_unreadable_at_rest_and_round_trip():
    sealed = token_vault.encrypt("secret-access-token")
    assert "secret-access-token" not in sealed
    assert token_vault.decrypt(sealed) == "secret-access-token"


def test_key_rotation_keeps_old_tokens_readable_and_rotate_moves_them(settings):
    old_key = settings.XERO_TOKEN_KEYS[0]
    sealed_with_old = token_vault.encrypt("refresh-token")
    new_key = Fernet.generate_key().decode()
    settings.XERO_TOKEN_KEYS = [new_key, old_key]
    assert token_vault.decrypt(sealed_with_old) == "refresh-token"
    rotated = token_vault.rotate(sealed_with_old)
    settings.XERO_TOKEN_KEYS = [new_key]
    assert token_vault.decrypt(rotated) == "refresh-token"
    with pytest.raises(ImproperlyConfigured, match="re-encrypted"):
        token_vault.decrypt(sealed_with_old)
