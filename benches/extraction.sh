#!/usr/bin/env bash
# Extraction benchmark (issue #3): runs our extractor over the Zyte dev set, scores it with
# the shared scorer and prints F1 beside ms/page (and html5ever's bare parse time, measured
# in the same run, as the floor). Usage: benches/extraction.sh [DEV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dev="${1:-../shared/data/extraction/dev}"
scorer="$(dirname "$dev")/../../tools/score_extraction.py"
[ -f "$scorer" ] || scorer=../shared/tools/score_extraction.py
if [ ! -d "$dev" ] || [ ! -f "$scorer" ]; then
  echo "skipped: $dev or the scorer is absent (they live in ../shared)"
  exit 0
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo build --release --quiet --example bench-extract
target="${CARGO_TARGET_DIR:-target}"
"$target/release/examples/bench-extract" --dev "$dev" --out "$out"
echo "score (../shared/tools/score_extraction.py):"
python3 "$scorer" "$out"
echo "references on the same pages: trafilatura 0.959, readability-lxml 0.950, rs-trafilatura 0.956; target F1 >= 0.975 and <= 3 ms/page median"
