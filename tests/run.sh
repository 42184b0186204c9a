#!/usr/bin/env bash
# Run every check wasmkube has: formatting, lints, unit tests, and the end-to-end tests that
# start the real binary and drive it with the real kubectl and the official Python client.
# Installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

say "prerequisites"
[ -x /usr/bin/kubectl ] || { echo "tests need the real kubectl at /usr/bin/kubectl" >&2; exit 1; }
if ! python3 -m venv --help >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
# The Python client lives in a venv outside the repository; the e2e test creates it on first
# use, but doing it here keeps pip's output out of the test log and fails early and clearly.
VENV=${WASMKUBE_TEST_VENV:-$HOME/.cache/wasmkube-test-venv}
if ! "$VENV/bin/python" -c 'import kubernetes' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'kubernetes==37.0.2'
fi
export WASMKUBE_TEST_VENV=$VENV
# redis-cli / redis-benchmark drive the kv guest in the pod-sandbox tests.
command -v redis-cli >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-tools; }
# dig asks the cluster DNS server in the services tests.
command -v dig >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bind9-dnsutils; }
# runc (or crun) runs OCI containers; ip makes pod network namespaces and nft redirects their connects
# into the pod network; the OCI tests build a busybox image (busybox-static, umoci), serve it
# from Debian's docker-registry (htpasswd for its basic auth) and copy it around with skopeo.
OCI_PACKAGES=(runc crun iproute2 nftables busybox-static umoci skopeo docker-registry apache2-utils)
for tool in runc crun ip nft busybox umoci skopeo docker-registry htpasswd; do
  command -v $tool >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${OCI_PACKAGES[@]}"; break; }
done

say "guest components (installs the wasm toolchain if missing)"
bash guest-examples/build.sh

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "cargo test"
cargo test --workspace --locked

say "benchmark harness in quick mode (checks it runs and writes its tables; figures are not judged)"
bash tests/bench.sh --quick
