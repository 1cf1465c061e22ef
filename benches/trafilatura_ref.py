#!/usr/bin/env python3
"""The reference for figure 5 (issue #13), measured in the same run as ours: trafilatura
extracting each page of a directory of `<id>.html[.gz]` files in one process, the way
bench-extract runs ours, writing `<id>.txt` for the scoring tools and printing the median
and mean CPU time per page (thread CPU, decompression and file reading not counted).

  python3 trafilatura_ref.py HTML_DIR OUT_DIR

Comments are left out (`include_comments=False`), as in trafilatura's own evaluation of
main text: with it, trafilatura 2.3.0 scores the issue's 0.924 on segments-dev.

Run it with a Python that has trafilatura (run.py makes a venv for it); it prints
`pages N  trafilatura X.Y: median A ms  mean B ms`.
"""
import gzip
import statistics
import sys
import time
from pathlib import Path

import trafilatura


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    times = []
    failed = 0
    for path in sorted(src.iterdir()):
        name = path.name
        if name.endswith(".gz"):
            raw, name = gzip.decompress(path.read_bytes()), name[:-3]
        else:
            raw = path.read_bytes()
        if not name.endswith((".html", ".htm")):
            continue
        stem = name.rsplit(".", 1)[0]
        start = time.thread_time()
        try:
            text = trafilatura.extract(raw, include_comments=False) or ""
        except Exception as e:  # one page's failure is that page's empty text
            print(f"{name}: {e}", file=sys.stderr)
            failed += 1
            text = ""
        times.append(time.thread_time() - start)
        (out / f"{stem}.txt").write_text(text, encoding="utf-8")
    if not times:
        print(f"no pages in {src}", file=sys.stderr)
        return 1
    if failed * 2 > len(times):
        # Not a reference any more: its time would be the time it takes to fail.
        print(f"trafilatura failed on {failed} of {len(times)} pages", file=sys.stderr)
        return 1
    print(f"pages {len(times)}  trafilatura {trafilatura.__version__}: "
          f"median {statistics.median(times) * 1000:.3f} ms  mean {statistics.mean(times) * 1000:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
