"""docker-compose.yml as docker-compose itself reads it, without a Docker engine (CI has none):
valid, N workers that `--scale worker=4` can make four, exactly one beat, and Flower.

`docker-compose config` has no --scale; `up --scale` needs an engine. What stops scaling a
service is what docker-compose warns of when asked to (compose/service.py,
show_scale_warnings): a container_name, which only one container can have, or a published host
port, which two containers on one host cannot share. So the worker must have neither."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="no docker-compose (.ci/run installs it)")


def compose_config(tmp_path: Path, **env: str) -> dict:
    """The file as docker-compose resolves it (`config` validates as `config -q` does, and
    prints), with only `env` set (not this shell's, nor a developer's .env)."""
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    command = [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env_file)]
    environment = {"PATH": "/usr/bin:/bin", **env}
    answer = subprocess.run(  # noqa: S603
        [*command, "config"], env=environment, check=True, capture_output=True, text=True
    )
    config: dict = yaml.safe_load(answer.stdout)
    return config


def test_workers_scale_beat_stays_one_and_flower_runs(tmp_path):
    services = compose_config(tmp_path)["services"]
    assert {"worker", "beat", "flower", "web", "postgres", "redis"} <= set(services)

    worker = services["worker"]
    assert "container_name" not in worker and not worker.get("ports")  # `--scale worker=4` works
    assert worker["deploy"]["replicas"] == 2
    command = worker["command"]
    assert command[command.index("--concurrency") + 1] == "4"  # the README's connection count

    beat = services["beat"]
    assert beat["deploy"]["replicas"] == 1 and "scale" not in beat
    assert beat["command"][:4] == ["celery", "-A", "platform_crm", "beat"]
    assert services["flower"]["command"][:4] == ["celery", "-A", "platform_crm", "flower"]

    # N workers of C processes on shared servers, as the README's "Many machines" says.
    shared = {
        "CELERY_WORKERS": "4",
        "CELERY_CONCURRENCY": "8",
        "STACK_DATABASE_URL": "postgres://crm@db.internal:5432/crm",
        "STACK_REDIS_URL": "redis://redis.internal:6379/0",
    }
    services = compose_config(tmp_path, **shared)["services"]
    assert services["worker"]["deploy"]["replicas"] == 4
    assert services["worker"]["command"][-2:] == ["--concurrency", "8"]
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in ("web", "worker", "beat", "flower"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"] == shared["STACK_DATABASE_URL"], name
        assert environment["REDIS_URL"] == shared["STACK_REDIS_URL"], name
