"""bench/run_all.py and bench/figures.py: every script runs, a failure does not stop the others,
and the figures end in one table. Run on copies of the two modules next to small scripts of
our own, so the real (minutes-long) benchmarks stay out of the test suite."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from bench.figures import figure

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_figure_prints_and_appends_one_json_line(tmp_path, monkeypatch, capsys):
    results = tmp_path / "figures.jsonl"
    monkeypatch.setenv("BENCH_RESULTS", str(results))

    figure("demo", "requests per second", 12345.678, "/s", "> 1,000 /s")
    figure("demo", "queries", 9)

    assert capsys.readouterr().out.splitlines() == [
        "  [demo] requests per second: 12,346 /s  (target > 1,000 /s)",
        "  [demo] queries: 9",
    ]
    assert [json.loads(line) for line in results.read_text().splitlines()] == [
        {
            "bench": "demo",
            "name": "requests per second",
            "value": 12345.678,
            "unit": "/s",
            "target": "> 1,000 /s",
        },
        {"bench": "demo", "name": "queries", "value": 9, "unit": "", "target": ""},
    ]


def test_figure_without_bench_results_only_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BENCH_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    figure("demo", "seconds", 1.234, "s")
    assert capsys.readouterr().out == "  [demo] seconds: 1.23 s\n"
    assert list(tmp_path.iterdir()) == []


SCRIPT = """import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.figures import figure
quick = "--quick" in sys.argv
"""


def bench_copy(tmp_path: Path, scripts: dict[str, str]) -> Path:
    """A repository holding run_all.py, figures.py and the given scripts in bench/."""
    bench = tmp_path / "bench"
    bench.mkdir()
    for module in ("run_all.py", "figures.py"):
        shutil.copy(BENCH / module, bench / module)
    for name, body in scripts.items():
        (bench / name).write_text(SCRIPT + body)
    return bench


def run_all(bench: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(bench / "run_all.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_every_script_runs_a_failure_is_named_and_the_figures_end_in_one_table(tmp_path):
    bench = bench_copy(
        tmp_path,
        {
            "alpha.py": 'figure("alpha", "contacts per second", 4612.4, "/s", "> 1,000 /s")\n',
            "broken.py": 'figure("broken", "before the crash", 7)\nraise SystemExit(3)\n',
            "zeta.py": 'figure("zeta", "quick" if quick else "full", 1.5, "ms")\n',
            "_private.py": 'raise SystemExit("not a benchmark: never run")\n',
        },
    )

    done = run_all(bench, "--quick")

    assert done.returncode == 1
    out = done.stdout
    assert "== bench/alpha.py --quick" in out and "== broken: exit 3" in out
    assert "_private" not in out + done.stderr
    table = out[out.index("== figures") :].splitlines()
    assert table[1:] == [
        "bench  | figure              | value | unit | target",
        "-------+---------------------+-------+------+-----------",
        "alpha  | contacts per second | 4,612 | /s   | > 1,000 /s",
        "broken | before the crash    |     7 |      |",
        "zeta   | quick               |  1.50 | ms   |",
        "",
        "FAILED: broken (their figures above may be incomplete)",
    ]


def test_named_scripts_run_alone_and_an_unknown_name_is_refused(tmp_path):
    bench = bench_copy(
        tmp_path,
        {
            "alpha.py": 'figure("alpha", "n", 1)\n',
            "zeta.py": 'figure("zeta", "n", 2)\n',
        },
    )

    done = run_all(bench, "bench/zeta.py")
    assert done.returncode == 0
    assert "zeta  | n      |     2" in done.stdout and "alpha" not in done.stdout

    refused = run_all(bench, "gamma")
    assert refused.returncode != 0
    assert "no such benchmark: gamma" in refused.stderr
