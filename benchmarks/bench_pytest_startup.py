"""What kvconfig's pytest plugin adds to every pytest start: an empty session with the plugin against one with
``-p no:kvconfig``, in fresh interpreters, interleaved so drift hits both alike; the median of each is reported.

Wall time is what a user waits; the CPU time of the child (user + system, from ``getrusage``) is reported too, because
it hardly moves when other processes compete for the CPU, where wall time does.

The session runs in an empty temporary folder (no tests, no conftest, no ini file), so what is measured is start-up:
interpreter, pytest, every installed plugin, collection of nothing. The goal is at most +50 ms for the plugin.

    python benchmarks/bench_pytest_startup.py [--runs 21] [--tests 0]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 50.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_session(folder: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one pytest session in a fresh interpreter."""
    cpu_start = _children_cpu()
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", *extra],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_start
    if completed.returncode not in (0, 5):  # 5: no tests collected
        raise SystemExit(f"pytest exited with {completed.returncode} in {folder} (args {extra})")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="sessions per contender (default 21)")
    parser.add_argument("--tests", type=int, default=0, help="trivial tests in the session (default 0: empty)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kvconfig-bench-") as name:
        folder = Path(name)
        if args.tests:
            body = "".join(f"def test_{index}():\n    pass\n\n" for index in range(args.tests))
            (folder / "test_trivial.py").write_text(body)
        one_session(folder)  # warm the OS file cache for both contenders
        one_session(folder, "-p", "no:kvconfig")
        with_plugin: list[tuple[float, float]] = []
        without_plugin: list[tuple[float, float]] = []
        for index in range(args.runs):
            # Alternate which goes first, so neither always runs on a cache the other warmed.
            order = [(with_plugin, ()), (without_plugin, ("-p", "no:kvconfig"))]
            for samples, extra in order if index % 2 == 0 else reversed(order):
                samples.append(one_session(folder, *extra))
    print(f"python {sys.version.split()[0]}, {args.runs} interleaved runs each, {args.tests} tests per session")
    for label, column in (("wall", 0), ("cpu", 1)):
        on = statistics.median(sample[column] for sample in with_plugin)
        off = statistics.median(sample[column] for sample in without_plugin)
        print(
            f"{label:4}: with the plugin {on * 1000:7.1f} ms, with -p no:kvconfig {off * 1000:7.1f} ms, "
            f"added {(on - off) * 1000:+6.1f} ms (ratio {on / off:.3f}); goal <= +{GOAL_MS:.0f} ms"
        )


if __name__ == "__main__":
    main()
