"""Two `celery beat` processes started by mistake: only the one holding the schedule lock sends
periodic jobs; the other waits, says why, and takes over when the first dies. And when Redis
restarts empty (the lock and the schedule gone with it), neither exits: exactly one of them
takes the lock again and scheduling goes on."""

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import redis
from django.conf import settings

from ..support.waiting import wait_until
from .beat_probe import PROBE_QUEUE
from .conftest import process_env
from .crash_processes import PrivateRedis

pytestmark = pytest.mark.slow


class Beat:
    def __init__(self, processes, tmp_path: Path, name: str, **env: str):
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
                env=process_env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def origin(self) -> str:
        return f"gen{self.process.pid}@"

    def said(self, text: str) -> bool:
        return text in self.log.read_text()


def probes_sent(broker_url: str = "") -> list[str]:
    """The origin (sending process) of every probe message on the broker, oldest first."""
    broker = redis.Redis.from_url(broker_url or settings.CELERY_BROKER_URL)
    return [json.loads(raw)["headers"]["origin"] for raw in broker.lrange(PROBE_QUEUE, 0, -1)][::-1]


def sent_by(beat: Beat, broker_url: str = "") -> int:
    return sum(origin.startswith(beat.origin) for origin in probes_sent(broker_url))


def wait_for(predicate, beats, timeout: float = 30.0) -> None:
    wait_until(
        predicate,
        timeout,
        0.1,
        describe=lambda: "\n".join(f"--- {b.log.name}\n{b.log.read_text()[-2000:]}" for b in beats),
    )


def forget_beats() -> None:
    """No lock or schedule left in Redis by an earlier beat (redbeat keeps both there)."""
    coordination = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(coordination.scan_iter("redbeat:*"))
    if keys:
        coordination.delete(*keys)


@pytest.fixture
def clean_broker():
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    forget_beats()
    broker.delete(PROBE_QUEUE)
    yield
    broker.delete(PROBE_QUEUE)
    forget_beats()


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


def test_after_redis_restarts_empty_exactly_one_beat_takes_the_lock_again(processes, tmp_path):
    redis_server = PrivateRedis(tmp_path)
    try:
        url = redis_server.url
        own = {"REDIS_URL": url, "CACHE_URL": url, "CELERY_BROKER_URL": url}
        first = Beat(processes, tmp_path, "first", **own)
        wait_for(lambda: sent_by(first, url) >= 2, [first])
        second = Beat(processes, tmp_path, "second", **own)
        wait_for(lambda: second.said("holds the schedule lock"), [first, second])

        # Redis goes away for a while (both beats keep trying), then comes back empty: no lock,
        # no schedule, no probes sent before.
        redis_server.kill()
        wait_for(
            lambda: first.said("Redis is unavailable") and second.said("Redis is unavailable"),
            [first, second],
        )
        redis_server.start()
        wait_for(lambda: len(probes_sent(url)) >= 8, [first, second])

        beats = [first, second]
        assert [b.process.poll() for b in beats] == [None, None]  # neither exited
        # Exactly one schedules: every probe since the restart came from the same beat, and
        # the other is waiting for it.
        origins = probes_sent(url)
        holder = next(b for b in beats if origins[0].startswith(b.origin))
        waiting = next(b for b in beats if b is not holder)
        assert all(o.startswith(holder.origin) for o in origins)
        assert waiting.log.read_text().count("holds the schedule lock") >= 1
        if holder is first:
            assert first.said("lost the schedule lock")
    finally:
        redis_server.stop()
