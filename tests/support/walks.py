"""The bad-input walk's figures: what each route's walk found, written as the tests go and
summed up at the end of the run."""

import json
from pathlib import Path

FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "bad-input-walk.json"


# route name -> what its walk tried; printed at the end of the run (tests/security/conftest.py).
WALKED: dict[str, dict] = {}


def figures_add(name, walk):
    WALKED[name] = {
        "fields": sorted(walk.fields),
        "requests": walk.requests,
        "server_errors": walk.server_errors,
        "problems": len(walk.problems),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(WALKED, indent=1))


def walk_summary() -> str | None:
    if not WALKED:
        return None
    fields = sum(len(w["fields"]) for w in WALKED.values())
    requests = sum(w["requests"] for w in WALKED.values())
    errors = sum(w["server_errors"] for w in WALKED.values())
    return (
        f"bad-input walk: {len(WALKED)} routes, {fields} fields and query parameters, "
        f"{requests} requests, {errors} answered 5xx (details: {FIGURES.name})"
    )
