#!/usr/bin/env bash
# Every benchmark, side by side with its peers, in one run: pod start (wasm vs OCI through our
# adapter vs bare runc/crun), density, HTTP (vs `wasmtime serve`), TCP (vs `wasmtime run`), the
# API, the scheduler and the server's footprint. Installs what it compares against
# (server/cli/benches/tools.sh), builds the guests, runs each benchmark (each takes its own
# warm-up and rounds), and writes the tables with the machine and the date:
#
#   bash tests/bench.sh            -> docs/BENCHMARKS.md (release build; ~15 minutes)
#   bash tests/bench.sh --quick    -> $CARGO_TARGET_DIR/BENCHMARKS.quick.md (dev build, small
#                                     sizes: checks that the harness and its table work; CI runs it)
set -Eeuo pipefail
cd "$(dirname "$0")/.."

quick=
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    *) echo "usage: bash tests/bench.sh [--quick]" >&2; exit 2 ;;
  esac
done
say() { printf '\n== %s\n' "$*" >&2; }

say "tools the peers need"
bash server/cli/benches/tools.sh >/dev/null
say "guest components"
bash guest-examples/build.sh >/dev/null

target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
# Kept after the run: `python3 tests/bench_report.py --records FILE --out OUT` writes the
# tables again from it.
records=$target/bench-records${quick:+.quick}.jsonl
rm -f "$records"
export WASMKUBE_BENCH_RECORDS=$records
if [ -n "$quick" ]; then
  profile=(--profile dev)
  pass=(--quick)
  out=$target/BENCHMARKS.quick.md
else
  profile=()
  pass=()
  out=docs/BENCHMARKS.md
fi

run() {
  say "cargo bench $*"
  cargo bench --locked "${profile[@]}" "$@" -- "${pass[@]}"
}
run -p wasmkube --bench oci
run -p wasmkube --bench cluster
run -p wasmkube-runtime --bench pods
run -p wasmkube --bench network
run -p wasmkube --bench api
run -p wasmkube-scheduler --bench scheduler

say "report"
python3 tests/bench_report.py --records "$records" --out "$out" ${quick:+--quick}
for area in "Pod start" Density Runtime HTTP TCP Services API Scheduler Footprint; do
  grep -q "^## $area\$" "$out" || { echo "bench.sh: no $area table in $out" >&2; exit 1; }
done
echo "wrote $out" >&2
