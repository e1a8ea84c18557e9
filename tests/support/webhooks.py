"""Xero webhook deliveries as Xero sends them: events, payloads, signatures, the POST."""

import base64
import hashlib
import hmac
import json

from django.test import Client
from django.urls import reverse


def sign(body: bytes, key: str = "sandbox-webhook-key") -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def post(body: bytes, signature: str):
    return Client().post(
        reverse("xero_webhook"),
        data=body,
        content_type="application/json",
        HTTP_X_XERO_SIGNATURE=signature,
    )


def payload(*events) -> bytes:
    return json.dumps(
        {"events": list(events), "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}
    ).encode()


def contact_event(tenant_id="t-1", resource_id="c-1", when="2026-11-24T10:00:00.000"):
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": when,
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }
