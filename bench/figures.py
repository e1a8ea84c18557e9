"""How a benchmark reports what it measured, so `make bench` can end with one table.

    from bench.figures import figure
    figure("contact_list", "first page p50", 12.3, "ms", "< 100 ms")

Each call prints one line at once (a script run by hand reads as before) and, when
BENCH_RESULTS names a file (bench/run_all.py sets it), appends the figure to it as one JSON
line. Appending one short line per call keeps figures from a script that dies half-way."""

import json
import os

RESULTS_ENV = "BENCH_RESULTS"


def figure(bench: str, name: str, value, unit: str = "", target: str = "") -> None:
    shown = value_text(value) + (f" {unit}" if unit else "")
    print(f"  [{bench}] {name}: {shown}" + (f"  (target {target})" if target else ""), flush=True)
    path = os.environ.get(RESULTS_ENV)
    if path:
        record = {"bench": bench, "name": name, "value": value, "unit": unit, "target": target}
        with open(path, "a", encoding="utf-8") as results:
            results.write(json.dumps(record, default=str) + "\n")


def value_text(value) -> str:
    """Thousands separated; floats to about three significant figures (timings on a shared
    machine are not more precise than that)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
