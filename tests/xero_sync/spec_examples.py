"""Xero's own JSON for the pure mapper tests: the example answers in the accounting spec."""

import functools
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "xero_sandbox" / "specs" / "xero_accounting.yaml"


@functools.cache
def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def spec_example(path: str, key: str) -> list[dict[str, Any]]:
    """The records under `key` in the spec's example answer to GET `path`."""
    answer = _spec()["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    records: list[dict[str, Any]] = answer["example"][key]
    return records
