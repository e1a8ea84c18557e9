"""Run as a separate process by test_rate_limits_across_processes: N calls to Xero for one
connection, as a worker would make them. Prints one line: ok=<n> failed=<n>."""

import sys

import django


def main(connection_id: int, calls: int) -> None:
    django.setup()
    from xero_sync.client import XeroClient
    from xero_sync.client.errors import XeroError
    from xero_sync.models import XeroConnection

    ok = failed = 0
    for _ in range(calls):
        try:
            XeroClient(XeroConnection.objects.get(pk=connection_id)).organisation()
            ok += 1
        except XeroError as error:
            failed += 1
            print(f"error: {type(error).__name__}: {error.message}", file=sys.stderr)
    print(f"ok={ok} failed={failed}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
