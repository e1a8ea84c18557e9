"""Processes a fault test kills and starts again: a Celery worker (its pool children or the
whole of it), `celery beat` running the sweeps, a Redis server of the test's own, and the web
app (gunicorn) with an HTTP session to drive it. Everything is started through the `processes`
fixture, which ends what is left at teardown."""

import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..support.waiting import wait_until
from ..workers import WORKER_ARGS, Worker
from .conftest import process_env


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (the prefork pool), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Until `pid` has exited (a zombie holds nothing: no socket, no database session); after
    `timeout`, the caller goes on regardless."""

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state == "Z"

    with contextlib.suppress(AssertionError):
        wait_until(gone, timeout, 0.02)


class KillableWorker(Worker):
    """A `celery worker` (queues xero, email, default; two pool processes) that a test can
    SIGKILL and start again, as a supervisor would. One log for all its lives."""

    process: subprocess.Popen  # started by __init__, and again after each kill

    def __init__(self, processes, tmp_path: Path, sandbox, **env: str):
        mail_dir = tmp_path / "mail"
        mail_dir.mkdir()
        self.processes = processes
        self.env = process_env(
            sandbox,
            # django-environ drops one leading slash: filemail:////abs/path is /abs/path.
            EMAIL_URL=f"filemail:///{mail_dir}",
            XERO_CLIENT_ID=sandbox.client_id,
            XERO_CLIENT_SECRET=sandbox.client_secret,
            XERO_WEBHOOK_KEY=sandbox.webhook_key,
            **env,
        )
        self.kills = {"pool": 0, "whole": 0}
        self.exits = 0  # exits nobody asked for, restarted by keep_running
        super().__init__(None, tmp_path / "worker.log", mail_dir)
        self.log.touch()
        processes.stoppers.append(self.stop_at_teardown)
        self.start()

    def start(self) -> None:
        offset = len(self.log.read_text())
        with self.log.open("a") as out:
            self.process = self.processes.start(
                WORKER_ARGS,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_for(
            lambda: "ready." in self.log.read_text()[offset:] or self.process.poll() is not None,
            60,
        )
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited:\n{self.log.read_text()[-3000:]}")

    def keep_running(self) -> None:
        """A supervisor's job: a worker that exited is started again. (A worker whose Redis
        vanished can exit by itself: kombu's redis transport raises AttributeError while
        acknowledging on the lost connection, an "Unrecoverable error".)"""
        if self.process.poll() is not None:
            self.exits += 1
            self.start()

    def kill_pool(self) -> None:
        """SIGKILL every pool child: the task each runs dies mid-way; the worker lives on,
        starts new children and (acks late, reject on worker lost) requeues the message."""
        children = _children(self.process.pid)
        assert children, "the worker has no pool children to kill"
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        self.kills["pool"] += 1

    def _kill(self) -> None:
        """SIGKILL the worker and its pool children; return once they are gone."""
        children = _children(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):  # already gone with its parent
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        for pid in children:
            _wait_gone(pid)

    def stop_at_teardown(self) -> None:
        """The test is over: the worker is killed, not shut down warm (which takes seconds and
        would hand its reserved messages back to the broker for nobody)."""
        if self.process.poll() is None:
            self._kill()

    def kill_whole(self, *, purge_queues: bool = False) -> None:
        """SIGKILL the worker and its children at once, then start a new one. Messages the dead
        worker had taken stay unacknowledged in Redis until the visibility timeout (an hour):
        only the beat sweep brings their work back. purge_queues: the messages still queued
        are lost as well before the new worker starts (a broker losing messages)."""
        self._kill()
        self.kills["whole"] += 1
        if purge_queues:  # on this worker's own broker
            from platform_crm.celery import app

            with app.connection_for_write(self.env.get("CELERY_BROKER_URL")) as broker:
                app.control.purge(connection=broker)
        self.start()


class SweepBeat:
    """`celery beat` sending the product's sweeps every two seconds (sweep_beat)."""

    def __init__(self, processes, tmp_path: Path, **env: str):
        self.processes, self.tmp_path, self.env = processes, tmp_path, process_env(**env)
        self.log = tmp_path / "beat.log"
        self.starts = 0
        self.start()

    def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as out:
            self.process = self.processes.start(
                [
                    "-m",
                    "celery",
                    "-A",
                    "tests.faults.sweep_beat",
                    "beat",
                    "-l",
                    "info",
                    "--schedule",
                    str(self.tmp_path / f"beat-schedule-{self.starts}"),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def keep_running(self) -> None:
        """A supervisor's job: a beat that stopped is started again (ours should not stop,
        whatever happens to Redis; `starts` tells whether it did)."""
        if self.process.poll() is not None:
            self.start()

    def sweeps_sent(self, name: str = "xero-invoices-sweep") -> int:
        return self.log.read_text().count(f"Sending due task {name}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own (no persistence: a restart loses everything, queued
    messages and rate-limit keys included). The shared Redis is never touched."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = tmp_path / "redis.log"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        wait_until(answers, 10, describe=lambda: f"redis-server:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None, "started in __init__"
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        assert self.process is not None, "started in __init__"
        if self.process.poll() is None:
            self.kill()


class WebServer:
    """The product's web app under gunicorn (as docker-compose runs it) on a port of its own,
    with the test's database, sandbox and Redis."""

    def __init__(self, processes, tmp_path: Path, sandbox, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "web.log"
        env = process_env(
            sandbox,
            XERO_CLIENT_ID=sandbox.client_id,
            XERO_CLIENT_SECRET=sandbox.client_secret,
            XERO_WEBHOOK_KEY=sandbox.webhook_key,
            **env,
        )
        with self.log.open("a") as out:
            self.process = processes.start(
                [
                    "-m",
                    "gunicorn",
                    "platform_crm.wsgi",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"web exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                return WebSession(self.url).get("/healthz").status == 200
            return False

        wait_until(up, 60, 0.2, describe=lambda: f"web:\n{self.log.read_text()[-3000:]}")


@dataclass
class WebAnswer:
    status: int
    location: str
    body: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the answer itself (its status and Location) is what a test looks at


class WebSession:
    """A browser's session over HTTP (urllib): cookies kept, redirects not followed, and
    Django's CSRF token sent with every POST."""

    def __init__(self, base_url: str, *, session_cookie: str = ""):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )
        if session_cookie:
            self._set_cookie("sessionid", session_cookie)

    def _set_cookie(self, name: str, value: str) -> None:
        self.cookies.set_cookie(
            http.cookiejar.Cookie(
                0,
                name,
                value,
                None,
                False,
                "127.0.0.1",
                False,
                False,
                "/",
                True,
                False,
                None,
                False,
                None,
                None,
                {},
            )  # fmt: skip
        )

    def _cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.cookies if c.name == name), "")

    def request(self, method: str, path: str, data: bytes | None = None, headers=None):
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=120) as response:
                return WebAnswer(response.status, "", response.read().decode(errors="replace"))
        except urllib.error.HTTPError as answer:
            body = answer.read().decode(errors="replace")
            return WebAnswer(answer.code, answer.headers.get("Location", ""), body)

    def get(self, path: str) -> WebAnswer:
        return self.request("GET", path)

    def post(self, path: str, fields: dict | list | None = None) -> WebAnswer:
        if not self._cookie("csrftoken"):
            self.get(path)  # a form page sets the CSRF cookie
        token = self._cookie("csrftoken")
        return self.request(
            "POST",
            path,
            urllib.parse.urlencode(fields or {}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": token},
        )
