"""Is a delivery Xero's? An HMAC-SHA256 of the raw body under our webhook key, compared in
constant time with the signature Xero sent."""

import base64
import hashlib
import hmac

from django.conf import settings


def signature_valid(body: bytes, signature: str) -> bool:
    key = settings.XERO_WEBHOOK_KEY.encode()
    # A real signature is base64, so ASCII; compare_digest raises on any other text.
    if not key or not signature or not signature.isascii():
        return False
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)
