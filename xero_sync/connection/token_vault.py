"""Tokens at rest: Fernet with key rotation (MultiFernet). The first key encrypts; every key
decrypts, so a new key can be put first and the old ones dropped after re-encryption."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("XERO_TOKEN_KEYS is empty; see .env.example.")
    return MultiFernet([Fernet(key) for key in keys])


def _vault() -> MultiFernet:
    return _fernet(tuple(settings.XERO_TOKEN_KEYS))


def encrypt(plaintext: str) -> str:
    return _vault().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _vault().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored Xero token cannot be decrypted with XERO_TOKEN_KEYS: a key was removed "
            "before its tokens were re-encrypted."
        ) from error


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first key."""
    return _vault().rotate(ciphertext.encode()).decode() if ciphertext else ""
