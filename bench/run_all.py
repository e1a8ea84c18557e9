"""Run every benchmark in bench/ and end with one table of all their figures (`make bench`).

    .venv/bin/python bench/run_all.py [--quick] [script ...]

Each script runs as a subprocess of its own (its output streams through as it comes) with
BENCH_RESULTS naming a scratch file that bench.figures.figure() appends to. A script that fails
does not stop the others: the table still shows every figure reported, the failures are named
after it and the exit status is non-zero. --quick is passed to every script (smaller sizes, for
a run of about a minute); script names (`contact_list` or `bench/contact_list.py`) pick a
subset."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # run from anywhere

from bench.figures import RESULTS_ENV, value_text  # noqa: E402

NOT_BENCHMARKS = {"figures.py", "run_all.py"}
COLUMNS = ("bench", "figure", "value", "unit", "target")


def scripts_all() -> list[Path]:
    return sorted(
        path
        for path in BENCH.glob("*.py")
        if path.name not in NOT_BENCHMARKS and not path.name.startswith("_")
    )


def scripts_named(names: list[str]) -> list[Path]:
    known = {path.stem: path for path in scripts_all()}
    unknown = [name for name in names if Path(name).stem not in known]
    if unknown:
        sys.exit(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [known[Path(name).stem] for name in names]


def script_run(script: Path, *, quick: bool, results: Path) -> int:
    print(f"\n== {script.relative_to(ROOT)}{' --quick' if quick else ''}", flush=True)
    # Unbuffered, so a script's lines interleave with nothing and show up as they happen.
    env = {**os.environ, RESULTS_ENV: str(results), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, str(script)] + (["--quick"] if quick else [])
    started = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    print(f"== {script.stem}: exit {code} after {time.perf_counter() - started:.0f} s", flush=True)
    return code


def results_read(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def table(rows: list[dict]) -> str:
    """One aligned text table, numbers right-aligned."""
    cells = [
        (row["bench"], row["name"], value_text(row["value"]), row["unit"], row["target"])
        for row in rows
    ]
    widths = [max(len(c) for c in column) for column in zip(COLUMNS, *cells, strict=True)]

    def line(values) -> str:
        parts = [
            value.rjust(width) if i == 2 else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return " | ".join(parts).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(COLUMNS), rule, *(line(c) for c in cells)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("scripts", nargs="*", help="run only these (default: every script)")
    args = parser.parse_args()
    scripts = scripts_named(args.scripts) if args.scripts else scripts_all()

    failed = []
    with tempfile.TemporaryDirectory(prefix="bench-results-") as scratch:
        results = Path(scratch) / "figures.jsonl"
        for script in scripts:
            if script_run(script, quick=args.quick, results=results) != 0:
                failed.append(script.stem)
        rows = results_read(results)

    print(f"\n== figures{' (--quick sizes)' if args.quick else ''}")
    print(table(rows) if rows else "(no figures reported)")
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (their figures above may be incomplete)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
