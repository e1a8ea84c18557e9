"""Two `celery beat` processes started by mistake: only the one holding the schedule lock sends
periodic jobs; the other waits, says why, and takes over when the first dies."""

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from platform_crm.beat_lock import LOCK_NAME

from .beat_probe import PROBE_QUEUE
from .conftest import process_env

pytestmark = pytest.mark.slow


class Beat:
    def __init__(self, processes, tmp_path: Path, name: str):
        self.log = tmp_path / f"{name}.log"
        with self.log.open("w") as out:
            self.process = processes.start(
                [
                    "-m",
                    "celery",
                    "-A",
                    "tests.faults.beat_probe",
                    "beat",
                    "-l",
                    "info",
                    # Each beat keeps its own schedule state, as separate machines would.
                    "--schedule",
                    str(tmp_path / f"{name}-schedule"),
                ],
                env=process_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def origin(self) -> str:
        return f"gen{self.process.pid}@"

    def said(self, text: str) -> bool:
        return text in self.log.read_text()


def probes_sent() -> list[str]:
    """The origin (sending process) of every probe message on the broker, oldest first."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return [json.loads(raw)["headers"]["origin"] for raw in broker.lrange(PROBE_QUEUE, 0, -1)][::-1]


def sent_by(beat: Beat) -> int:
    return sum(origin.startswith(beat.origin) for origin in probes_sent())


def wait_for(predicate, beats, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- {b.log.name}\n{b.log.read_text()[-2000:]}" for b in beats)
    raise AssertionError(f"condition not met within {timeout}s\n{logs}")


@pytest.fixture
def clean_broker():
    coordination = redis.Redis.from_url(settings.REDIS_URL)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    coordination.delete(LOCK_NAME)
    broker.delete(PROBE_QUEUE)
    yield
    broker.delete(PROBE_QUEUE)
    coordination.delete(LOCK_NAME)


def test_a_second_beat_schedules_nothing_until_the_first_dies(processes, tmp_path, clean_broker):
    first = Beat(processes, tmp_path, "first")
    wait_for(lambda: sent_by(first) >= 2, [first])
    second = Beat(processes, tmp_path, "second")
    wait_for(lambda: second.said("holds the schedule lock"), [first, second])
    # The second beat is up and waiting; give it ample chances to send while the first works.
    already = sent_by(first)
    wait_for(lambda: sent_by(first) >= already + 6, [first, second])

    assert sent_by(second) == 0
    assert not second.said("Sending due task")
    # It says why it waits, naming the holder by host and pid.
    assert second.said(f"another beat ({socket.gethostname()}:{first.process.pid}:")

    # The first dies without releasing its lock; once the lock expires the second takes over.
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    wait_for(lambda: sent_by(second) >= 2, [first, second])
    assert second.said("holding the schedule lock")
    origins = probes_sent()
    handover = next(i for i, o in enumerate(origins) if o.startswith(second.origin))
    # Never both at once: everything before the handover is the first's, everything after the
    # second's.
    assert all(o.startswith(first.origin) for o in origins[:handover])
    assert all(o.startswith(second.origin) for o in origins[handover:])
