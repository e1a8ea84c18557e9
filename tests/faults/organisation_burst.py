"""Run as a separate process by test_token_refresh_stampede: `threads` workers, each with its own
XeroClient and database connection, as Celery tasks would have them. All threads load the
connection (with its expired token), print "ready" and wait for a line on stdin, so every
process starts its calls at the same moment. Like a task, a call that Xero's limits or a lost
answer held back is tried again (at most three times, each retry said on stderr as
"retried: ..."); anything else fails it. Prints one line: ok=<n> failed=<n>."""

import sys
import threading
import time

import django


def main(connection_id: int, threads: int) -> None:
    django.setup()
    from django.db import connection as db

    from xero_sync.client import XeroClient
    from xero_sync.client.errors import RateLimited, Transient, XeroError
    from xero_sync.models import XeroConnection

    loaded = threading.Barrier(threads + 1)
    go = threading.Event()
    outcomes: list[str] = []

    def one_task() -> None:
        try:
            client = XeroClient(XeroConnection.objects.get(pk=connection_id))
            loaded.wait()
            go.wait()
            for attempt in range(4):
                try:
                    client.organisation()
                    break
                except (RateLimited, Transient) as error:
                    if attempt == 3:
                        raise
                    print(f"retried: {type(error).__name__}: {error.message}", file=sys.stderr)
                    time.sleep(min(getattr(error, "retry_after", 0.5), 5.0))
            outcomes.append("ok")
        except XeroError as error:
            outcomes.append(f"{type(error).__name__}: {error.message}")
        except Exception as error:
            outcomes.append(repr(error))
            loaded.abort()  # a thread that never got ready must not leave the others waiting
        finally:
            db.close()

    workers = [threading.Thread(target=one_task) for _ in range(threads)]
    for worker in workers:
        worker.start()
    loaded.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    go.set()
    for worker in workers:
        worker.join()
    failures = [o for o in outcomes if o != "ok"]
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    print(f"ok={len(outcomes) - len(failures)} failed={len(failures)}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
