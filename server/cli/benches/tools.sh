#!/usr/bin/env bash
# Installs what the benchmarks compare against, if missing, and prints where it is:
#   wrk, redis-tools, runc, crun, nftables, umoci, busybox-static (Debian), and wasmtime-cli 48.0.8 (crates.io, built once into
#   ~/.cache/wasmkube/tools; only the features `wasmtime run` and `wasmtime serve` need).
# Usage: bash server/cli/benches/tools.sh      -> prints WASMTIME=<path>
set -Eeuo pipefail
TOOLS=${WASMKUBE_TOOLS:-$HOME/.cache/wasmkube/tools}
WASMTIME_VERSION=48.0.8
say() { echo "tools.sh: $*" >&2; }

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v redis-benchmark >/dev/null || missing+=(redis-tools)
command -v runc >/dev/null || missing+=(runc)
command -v crun >/dev/null || missing+=(crun)
command -v nft >/dev/null || missing+=(nftables)
command -v umoci >/dev/null || missing+=(umoci)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

WASMTIME=$TOOLS/bin/wasmtime
if ! [ -x "$WASMTIME" ] || ! "$WASMTIME" --version | grep -q " $WASMTIME_VERSION"; then
  say "building wasmtime-cli $WASMTIME_VERSION into $TOOLS (once; several minutes)"
  cargo install --locked "wasmtime-cli@$WASMTIME_VERSION" --no-default-features \
    --features run,serve,cranelift,pooling-allocator,parallel-compilation,cache,component-model,component-model-async \
    --root "$TOOLS" --target-dir "$TOOLS-target" >&2
fi
echo "WASMTIME=$WASMTIME"
