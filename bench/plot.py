"""``python -m bench.plot``: draw docs/benchmarks-latency.png from bench/results/.

Left: the latency of seeing an update, push against polling every 500 ms, as the load grows
(polling.json). Right: push latency against pushes a second for each async mode
(throughput.json). Needs matplotlib (requirements-dev.txt), for this plot only.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.common import RESULTS  # noqa: E402
from bench.common import ROOT  # noqa: E402

OUT = ROOT / "docs" / "benchmarks-latency.png"
COLORS = {"push": "tab:blue", "polling": "tab:red"}
MODE_COLORS = {"eventlet": "tab:blue", "gevent": "tab:green", "threading": "tab:orange"}


def push_against_polling(ax, polling: dict) -> None:
    """Plot p50 and p99 of seeing an update against updates a second, push and polling."""
    loads = polling["loads"]
    x = [load["updates_per_s"] for load in loads]
    for way in ("push", "polling"):
        for pct, style in (("p50", "-o"), ("p99", "--s")):
            y = [load[way]["latency_ms"][pct] for load in loads]
            ax.plot(x, y, style, color=COLORS[way], label=f"{way} {pct}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(
        x,
        [
            f"{v:,}\n({load['jobs']} job{'s' if load['jobs'] > 1 else ''})"
            for v, load in zip(x, loads, strict=True)
        ],
    )
    ax.set_xlabel("updates/s in (jobs at 10 updates/s, 2 watchers each)")
    ax.set_ylabel("latency of seeing an update (ms, log)")
    ax.set_title("Push vs polling every 500 ms")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def push_rate(ax, throughput: dict) -> None:
    """Plot push p50 and p99 against pushes a second, per async mode."""
    limit = 50
    for mode in throughput["modes"]:
        steps = [s for s in mode["steps"] if not s.get("retried")]
        x = [s["pushes_per_s"] for s in steps]
        color = MODE_COLORS.get(mode["mode"])
        ax.plot(x, [s["latency_ms"]["p99"] for s in steps], "-o", color=color,
                label=f"{mode['mode']} p99")  # fmt: skip
        ax.plot(x, [s["latency_ms"]["p50"] for s in steps], ":", color=color,
                label=f"{mode['mode']} p50")  # fmt: skip
    ax.axhline(limit, color="grey", linestyle="--", linewidth=1)
    ax.text(1000, limit * 1.1, f"p99 limit {limit} ms", color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("pushes/s out of one web process (100 jobs x 2 tabs)")
    ax.set_ylabel("push latency (ms, log)")
    ax.set_title("Push latency against rate, per async mode")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def main() -> int:
    """Draw the plot from the saved results."""
    polling = json.loads((RESULTS / "polling.json").read_text())
    throughput = json.loads((RESULTS / "throughput.json").read_text())
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    push_against_polling(left, polling)
    push_rate(right, throughput)
    machine = polling["machine"]
    fig.suptitle(
        f"Taskboard live updates: {machine['nproc']} cores ({machine['cpu']}), "
        f"Python {machine['python']}; web server, Redis and clients on one machine",
        fontsize=10,
    )
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
