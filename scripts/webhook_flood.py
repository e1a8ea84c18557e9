"""Flood a running Platform CRM with signed Xero webhook deliveries and count the answers.

    python scripts/webhook_flood.py http://127.0.0.1:8613 --requests 500 --threads 16

Each delivery is a real event body signed with XERO_WEBHOOK_KEY (the sandbox's key by default),
so every request reaches the database. Loopback URLs only; bounded in count and time."""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def signed(n: int, key: str) -> tuple[bytes, str]:
    event = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/flood-{n}",
        "resourceId": f"flood-{n}",
        "eventDateUtc": "2026-11-24T10:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": "flood-tenant",
        "tenantType": "ORGANISATION",
    }
    body = json.dumps({"events": [event], "firstEventSequence": n, "lastEventSequence": n})
    body = body.encode()
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


def send(url: str, n: int, key: str) -> int:
    body, signature = signed(n, key)
    request = urllib.request.Request(  # noqa: S310 (loopback only, checked in main)
        url, data=body, method="POST", headers={"X-Xero-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0  # no answer at all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--key", default="sandbox-webhook-key")
    args = parser.parse_args()
    if urlsplit(args.base_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback addresses only")
    url = args.base_url.rstrip("/") + "/xero/webhooks/"
    started = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        answers = Counter(pool.map(lambda n: send(url, n, args.key), range(args.requests)))
    took = time.monotonic() - started
    print(
        f"{args.requests} signed webhooks, {args.threads} threads, {took:.1f} s: "
        + ", ".join(
            f"{count} x {status or 'no answer'}" for status, count in sorted(answers.items())
        )
    )
    return 0 if set(answers) == {200} else 1


if __name__ == "__main__":
    sys.exit(main())
