"""Benchmark the CSV processors against the field's tools, side by side on the same generated CSV.

    .venv/bin/python -m bench.peers                         # 200 MB for profiles, 20 MB for xlsx
    .venv/bin/python -m bench.peers --profile-mb 50 --xlsx-mb 5 --baseline main

Each contender runs in a process of its own, one after the other, so its speed (MB of CSV a
second, wall clock, and per CPU second: on a shared, loaded machine the CPU time moves less)
and its peak memory (the process's maximum RSS, imports included) are its own.

Profiles: Taskboard's csv-profile, DuckDB's ``SUMMARIZE`` on one thread and on two, Polars'
``describe``. Workbooks: Taskboard's csv-to-xlsx, XlsxWriter's ``constant_memory`` mode fed by
the csv module (the floor of any converter that types cells in Python), and, with
``--baseline REF``, the csv-to-xlsx of that git revision (what "before" means). DuckDB and
Polars are optional benchmark dependencies (requirements-dev.txt); a missing one is skipped
with a note. Results go to bench/results/peers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import save
from bench.common import table
from bench.processors import generate

PROJECT = Path(__file__).resolve().parent.parent

# Each contender: a Python snippet run as ``python -c`` with SRC (the CSV) and OUT (a folder);
# it prints nothing. The harness times what follows its "# timed" line (imports come before)
# and reads the process's peak RSS.
PROFILES = {
    "taskboard csv-profile": """
from tasks.processors import csv_profile
from tasks.progress import Progress
from tasks import registry
# timed
csv_profile.work(SRC, OUT, registry.get("csv-profile").validate({}), Progress())
""",
    "duckdb SUMMARIZE, 1 thread": """
import duckdb
con = duckdb.connect(config={"threads": 1})
# timed
con.sql(f"SUMMARIZE SELECT * FROM read_csv('{SRC}')").fetchall()
""",
    "duckdb SUMMARIZE, 2 threads": """
import duckdb
con = duckdb.connect(config={"threads": 2})
# timed
con.sql(f"SUMMARIZE SELECT * FROM read_csv('{SRC}')").fetchall()
""",
    "polars describe": """
import polars
# timed
polars.read_csv(SRC).describe()
""",
}
WORKBOOKS = {
    "taskboard csv-to-xlsx": """
from tasks.processors import csv_to_xlsx
from tasks.progress import Progress
from tasks import registry
# timed
csv_to_xlsx.work(SRC, OUT, registry.get("csv-to-xlsx").validate({}), Progress())
""",
    "xlsxwriter constant_memory (csv module)": """
import csv, xlsxwriter
# timed
book = xlsxwriter.Workbook(str(OUT / "peer.xlsx"), {"constant_memory": True, "tmpdir": str(OUT)})
sheet = book.add_worksheet()
with open(SRC, newline="") as f:
    for r, record in enumerate(csv.reader(f)):
        for c, cell in enumerate(record):
            try:
                sheet.write_number(r, c, float(cell))
            except ValueError:
                sheet.write_string(r, c, cell)
book.close()
""",
}
HARNESS = """
import resource, sys, time
from pathlib import Path
SRC, OUT = Path(sys.argv[1]), Path(sys.argv[2])
setup, _, timed = sys.argv[3].partition("# timed")
exec(compile(setup, "contender setup", "exec"))
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
started, cpu_started = time.perf_counter(), cpu()
exec(compile(timed, "contender", "exec"))
seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
print(seconds, cpu_seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run_one(code: str, source: Path, pythonpath: Path) -> dict | None:
    """Run one contender in a fresh process; return its seconds and peak RSS, or None."""
    with tempfile.TemporaryDirectory(dir=source.parent) as out:
        env = os.environ | {"PYTHONPATH": str(pythonpath)}
        done = subprocess.run(
            [sys.executable, "-c", HARNESS, str(source), out, code],
            capture_output=True,
            text=True,
            env=env,
            cwd=pythonpath,
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        print(f"  skipped: {last}", file=sys.stderr)
        return None
    seconds, cpu_seconds, peak = map(float, done.stdout.split()[-3:])
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "peak_rss_mb": round(peak, 1),
    }


def baseline_tree(ref: str, folder: Path) -> Path:
    """Write the ``tasks`` package of a git revision into a folder; return the folder."""
    folder.mkdir(exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", ref, "tasks"], cwd=PROJECT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def measure(title: str, contenders: dict[str, tuple[str, Path]], source: Path) -> list[dict]:
    """Run each contender on the source and print the table; return the rows."""
    size_mb = source.stat().st_size / 2**20
    rows = []
    for name, (code, path) in contenders.items():
        print(f"{name} ...", file=sys.stderr)
        got = run_one(code, source, path)
        if got is not None:
            speeds = {
                "mb_per_s": round(size_mb / got["seconds"], 2),
                "mb_per_cpu_s": round(size_mb / max(got["cpu_seconds"], 1e-6), 2),
            }
            rows.append({"contender": name} | speeds | got)
    columns = ["contender", "seconds", "MB/s", "CPU seconds", "MB per CPU second", "peak RSS MB"]
    print(
        table(
            f"{title}, {size_mb:.0f} MB CSV",
            columns,
            [
                [r["contender"], r["seconds"], r["mb_per_s"], r["cpu_seconds"]]
                + [r["mb_per_cpu_s"], r["peak_rss_mb"]]
                for r in rows
            ],
        )
    )
    return rows


def run(profile_mb: int, xlsx_mb: int, baseline: str | None) -> dict:
    """Generate the CSVs and run every contender; return the results."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        results: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
        source = root / "profile.csv"
        generate(source, profile_mb)
        here = {name: (code, PROJECT) for name, code in PROFILES.items()}
        if baseline:
            old = baseline_tree(baseline, (root / "baseline").resolve())
            here[f"taskboard csv-profile at {baseline}"] = (PROFILES["taskboard csv-profile"], old)
        results["profile"] = measure("profiles", here, source)
        source.unlink()
        source = root / "xlsx.csv"
        generate(source, xlsx_mb)
        here = {name: (code, PROJECT) for name, code in WORKBOOKS.items()}
        if baseline:
            code = WORKBOOKS["taskboard csv-to-xlsx"]
            here[f"taskboard csv-to-xlsx at {baseline}"] = (code, (root / "baseline").resolve())
        results["xlsx"] = measure("workbooks", here, source)
    return results


def main() -> int:
    """Run from the command line and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile-mb", type=int, default=200, help="CSV size for profiles")
    parser.add_argument("--xlsx-mb", type=int, default=20, help="CSV size for workbooks")
    parser.add_argument("--baseline", help="a git revision whose processors run too")
    args = parser.parse_args()
    results = run(args.profile_mb, args.xlsx_mb, args.baseline)
    print(json.dumps(results["load_average"]))
    print(f"saved {save('peers', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
