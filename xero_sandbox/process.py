"""Start and stop the sandbox as a subprocess (the pytest fixture and the bench)."""

import os
import subprocess
import sys
import threading

from .handle import SandboxHandle

READY = "Xero sandbox ready at "


def start_sandbox(
    log_path: str | os.PathLike[str], *args: str, timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], SandboxHandle]:
    """Start `python -m xero_sandbox --port 0 ...`; return once it printed its URL."""
    log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the process)
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "xero_sandbox", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    found: list[str] = []
    stdout = process.stdout
    assert stdout is not None  # a pipe, as asked
    reader = threading.Thread(target=lambda: found.append(stdout.readline().decode()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = found[0] if found else ""
    if not line.startswith(READY):
        process.kill()
        raise RuntimeError(f"xero sandbox did not start (see {log_path}): {line!r}")
    return process, SandboxHandle(line[len(READY) :].strip())


def stop_sandbox(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
