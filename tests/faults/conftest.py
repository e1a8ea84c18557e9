"""Fault tests: real processes (beat, workers, many callers) racing each other. Every process a
test starts goes through `processes`, which ends whatever is still running when the test ends,
passed or failed."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ..workers import database_url_for_tests

ROOT = Path(__file__).resolve().parents[2]


def process_env(sandbox=None, **extra: str) -> dict[str, str]:
    """The test settings for a child process: this run's database, Redis and sandbox."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_tests(),
        "PYTHONUNBUFFERED": "1",
    }
    if sandbox is not None:
        env["XERO_SANDBOX_URL"] = sandbox.url
    return env | extra


class Processes:
    def __init__(self):
        self.started: list[subprocess.Popen] = []
        # Run first at teardown: a quicker end than SIGTERM for what has nothing left to do
        # gracefully (KillableWorker: a Celery worker's warm shutdown takes about 4 s).
        self.stoppers: list[Callable[[], None]] = []

    def start(self, args: list[str], *, env: dict[str, str], **popen) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, **popen)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        try:
            for stop in self.stoppers:
                stop()
        finally:  # whatever a stopper did, everything started is ended
            for process in self.started:
                if process.poll() is None:
                    process.terminate()
            for process in self.started:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture
def processes():
    started = Processes()
    try:
        yield started
    finally:
        started.stop_all()
