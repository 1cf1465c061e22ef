#!/usr/bin/env python3
"""Growth benchmark (issue #11): time and peak RSS of hostile input at 1x, 4x and 16x size.

    python3 benches/growth.py [--binary PATH] [--base-kb N] [--runs N]

Each case is a generated input run through the real binary as a child process (peak RSS
from wait4's rusage): a page of N nested <div>s through `feedbrief extract`, beside a page
of the same size whose <div>s are siblings (the reference, measured in the same run); a
JSON Feed of `{}` items and an RSS feed of `<item></item>` through `feedbrief inspect`.
Growth is near-linear when 16x the input takes at most 32x the time (twice linear, room
for the machine's noise) and at most 16x the memory above the process's floor. A missed
bound is printed, not failed. `benches/run.py` runs it as figure 7 (`--smoke`: small sizes).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCALES = (1, 4, 16)


def nested_page(size):
    n = size // 11  # "<div>" + "</div>"
    return "<html><body>" + "<div>" * n + "<p>Deep text.</p>" + "</div>" * n + "</body></html>"


def flat_page(size):
    n = size // 11
    return "<html><body>" + "<div></div>" * n + "<p>Flat text.</p></body></html>"


def json_empty_items(size):
    n = size // 3  # "{},"
    return '{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[' + ",".join(["{}"] * n) + "]}"


def rss_empty_items(size):
    n = size // 13
    return '<rss version="2.0"><channel><title>T</title>' + "<item></item>" * n + "</channel></rss>"


CASES = [
    # (name, command, generator, suffix)
    ("nested <div> page, extract", "extract", nested_page, ".html"),
    ("flat <div> page, extract (reference)", "extract", flat_page, ".html"),
    ("JSON Feed of {} items, inspect", "inspect", json_empty_items, ".json"),
    ("RSS of <item></item>, inspect", "inspect", rss_empty_items, ".xml"),
]


def run_rss(argv, timeout):
    """Runs argv to completion; returns (seconds, peak RSS in KiB). Bounded by timeout."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            os.wait4(p.pid, 0)
            raise RuntimeError(f"{' '.join(argv[:2])} timed out after {timeout}s")
        time.sleep(0.01)
    seconds = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed: {p.stderr.read().decode()[-500:]}")
    p.stderr.close()
    return seconds, usage.ru_maxrss


def measure(binary, base_kb, runs, timeout=600):
    """Every case at every scale; returns rows (name, scale, bytes, seconds, rss_kb) and the
    floor RSS (the binary reading an empty page)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="feedbrief-growth-") as d:
        empty = Path(d) / "empty.html"
        empty.write_text("<p>x</p>")
        floor = min(run_rss([binary, "extract", str(empty)], timeout)[1] for _ in range(runs))
        for name, cmd, gen, suffix in CASES:
            for scale in SCALES:
                f = Path(d) / f"input{suffix}"
                f.write_text(gen(base_kb * 1024 * scale))
                size = f.stat().st_size
                results = [run_rss([binary, cmd, str(f)], timeout) for _ in range(runs)]
                seconds = statistics.median(r[0] for r in results)
                rss = statistics.median(r[1] for r in results)
                rows.append((name, scale, size, seconds, rss))
    return rows, floor


def verdicts(rows, floor):
    """Per case: (name, time ratio 16x/1x, memory-above-floor ratio 16x/1x, memory above
    the floor per input byte at 16x, near-linear)."""
    out = []
    for name, *_ in CASES:
        mine = {scale: (size, secs, rss) for n, scale, size, secs, rss in rows if n == name}
        (_, t1, m1), (size16, t16, m16) = mine[SCALES[0]], mine[SCALES[-1]]
        time_ratio = t16 / max(t1, 1e-3)
        # Memory above what the process needs to start (a few MB of floor noise allowed).
        mem_ratio = max(m16 - floor, 0) / max(m1 - floor, 4096)
        per_byte = max(m16 - floor, 0) * 1024 / size16
        out.append((name, time_ratio, mem_ratio, per_byte, time_ratio <= 32 and mem_ratio <= 16))
    return out


def print_table(rows, floor, verdict_rows):
    print(f"  {'case':42} {'scale':>5} {'input':>10} {'seconds':>9} {'peak RSS':>10}")
    for name, scale, size, secs, rss in rows:
        print(f"  {name:42} {scale:>4}x {size / 1e6:>8.2f}MB {secs:>9.3f} {rss / 1024:>8.1f}MB")
    print(f"  (process floor: {floor / 1024:.1f} MB peak RSS reading a one-line page)")
    for name, tr, mr, pb, ok in verdict_rows:
        word = "near-linear" if ok else "NOT near-linear"
        print(f"  {name}: 16x input -> {tr:.1f}x time, {mr:.1f}x memory above floor "
              f"({pb:.1f} bytes per input byte): {word}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "feedbrief"))
    ap.add_argument("--base-kb", type=int, default=320, help="input size at 1x (16x: about 5 MB)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not Path(args.binary).exists():
        print(f"growth: {args.binary} is missing; cargo build --release first", file=sys.stderr)
        return 1
    rows, floor = measure(args.binary, args.base_kb, args.runs)
    print_table(rows, floor, verdicts(rows, floor))
    return 0


if __name__ == "__main__":
    sys.exit(main())
