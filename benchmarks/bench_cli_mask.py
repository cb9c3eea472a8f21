"""``kvconfig run --mask`` throughput: the stream masker against a plain copy, and against one pattern of every
secret run over all output (the masker's first version).

Each contender masks the same log-like output (86-byte lines, 64 KiB reads, 50 random 24-character secrets); rounds
alternate and the median round of each is reported, with ratios to the plain copy.

    python benchmarks/bench_cli_mask.py              # 7 rounds, 25 MB of output, no secret in it
    python benchmarks/bench_cli_mask.py --leak 1000  # one secret printed every 1000 lines
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import time
from collections.abc import Callable

from kvconfig.cli._mask import MASK_TEXT, Masker, secret_forms

LINE = b"2025-01-01 INFO request handled in 3 ms for user 12345, nothing secret here at all\n"
CHUNK = 64 * 1024


def _copy(data: bytes, _forms: list[bytes]) -> int:
    return sum(len(data[i : i + CHUNK]) for i in range(0, len(data), CHUNK))


def _masker(data: bytes, forms: list[bytes]) -> int:
    masker = Masker(forms)
    total = sum(len(masker.feed(data[i : i + CHUNK])) for i in range(0, len(data), CHUNK))
    return total + len(masker.flush())


def _one_pattern(data: bytes, forms: list[bytes]) -> int:
    pattern = re.compile(b"|".join(re.escape(form) for form in forms))
    return sum(len(pattern.sub(MASK_TEXT, data[i : i + CHUNK])) for i in range(0, len(data), CHUNK))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--leak", type=int, default=0, help="print a secret every N lines (0: never)")
    args = parser.parse_args()
    forms = secret_forms([secrets.token_urlsafe(18) for _ in range(50)])
    if args.leak:
        block = LINE * (args.leak - 1) + b"leak " + forms[0] + b"\n"
        data = block * (args.lines // args.leak)
    else:
        data = LINE * args.lines
    contenders: dict[str, Callable[[bytes, list[bytes]], int]] = {
        "plain copy": _copy,
        "Masker (scan, then pattern of present secrets)": _masker,
        "one pattern of all secrets": _one_pattern,
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(data, forms)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["plain copy"])
    print(f"{len(data) / 1e6:.0f} MB, {len(forms)} secret forms, leak every {args.leak or 'never'} lines")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:50} {len(data) / 1e6 / median:9.0f} MB/s   {median / floor:8.1f}x the copy's time")


if __name__ == "__main__":
    main()
