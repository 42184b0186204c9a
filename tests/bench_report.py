#!/usr/bin/env python3
"""Turn the figures the benchmarks recorded (one JSON object per line, see
server/cli/benches/support/record.rs) into docs/BENCHMARKS.md: one table per area with
wasmkube's figure, its spread, the peer's figure from the same run, their ratio and the goal,
with the machine and the date. Run by tests/bench.sh."""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

# How each area is measured, in the order the tables appear.
AREAS = {
    "Pod start": (
        "Create -> `Running` seen on a watch, through the real `wasmkube server` over HTTP "
        "(`server/cli/benches/cluster.rs`: pods created in a row on one connection; "
        "`server/cli/benches/oci.rs`: one pod at a time, wasm and OCI interleaved, with the "
        "bare runtimes starting the same busybox bundle as the floor). Spread: fastest and "
        "slowest start."
    ),
    "Density": (
        "`cluster.rs`: http-hello pods created by 8 clients until all run; the server's resident "
        "memory growth per pod (the whole cluster: API objects, controllers, agent, runtime). "
        "`runtime/benches/pods.rs`: the runtime alone, RSS growth per idle pod (PSS beside it "
        "in the records)."
    ),
    "Runtime": (
        "`runtime/benches/pods.rs`: the wasm runtime alone, without the API (a pod spec handed to "
        "`Runtime::start_pod`): instantiation of each example, pod start -> first HTTP answer with "
        "the earlier pods still running, and one pod's HTTP served on its own socket by a keep-alive "
        "client in the same process (5 s per concurrency). Spread: fastest and slowest sample."
    ),
    "HTTP": (
        "`wrk` GET / of one http-hello pod (`server/cli/benches/network.rs`), through the ingress "
        "(handed to the component in-process) and through its NodePort (a socket into the pod "
        "network), interleaved with the same component under `wasmtime serve` (48.0.8); a fresh "
        "instance per request everywhere; three rounds of 5 s, the median round; spread over rounds. "
        "Not measured: HTTP from another pod through a Service (no load generator runs in a pod yet)."
    ),
    "TCP": (
        "`redis-benchmark -c 50 -n 100000 -t ping,set,get` against the `kv` component through a "
        "NodePort, interleaved with the same component under `wasmtime run -S inherit-network` "
        "on a real socket (`network.rs`); three rounds, the median."
    ),
    "Services": (
        "`network.rs`: the pod network's routing decision alone, and a NodePort Service created "
        "-> the first 200 through it."
    ),
    "API": (
        "`server/cli/benches/api.rs`: durable creates (an fsync per commit, group commit), "
        "merge-patch latency at a fixed 1,000 writes/s (open loop), write -> watch event delay "
        "with 1,000 watchers. Spread: over three rounds, or over all samples."
    ),
    "Scheduler": (
        "`server/scheduler/benches/`: 1,000 simulated nodes, 10,000 pods bound through the real "
        "API and store; spread over three rounds."
    ),
    "Footprint": (
        "The release binary; the server from start to `/readyz`, and its resident memory idle "
        "and with pods running (`api.rs`, `cluster.rs`)."
    ),
}

# Peers we cannot run here, said once rather than left as blank cells.
NO_PEER = {
    "API": "k3s/kube-apiserver with etcd is not installable on these machines (no network beyond "
    "crates.io, PyPI, npm and Debian): the goals are absolute.",
    "Scheduler": "kube-scheduler is not installable here; the goal is absolute.",
    "Density": "no peer runs 10,000 pods on this machine; the goal is absolute.",
    "Runtime": "these are the runtime's own steps; `wasmtime serve` and `wasmtime run` are compared "
    "end to end under HTTP and TCP.",
    "Footprint": "no other orchestrator is installable here; the goals are absolute.",
}


def number(x, unit=""):
    if x is None:
        return ""
    if isinstance(x, float) and (x != x):
        return "n/a"
    a = abs(x)
    if a >= 1000:
        text = f"{x:,.0f}"
    elif a >= 100:
        text = f"{x:.0f}"
    elif a >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".strip()


def goal_met(goal, value, peer):
    """Whether a goal written as text is met: '< N', '>= N', '>= P% of', 'within Fx of',
    '>= Fx faster than'; None when the goal says nothing checkable."""
    if not goal:
        return None
    g = goal.replace(",", "")
    m = re.match(r">=\s*([\d.]+)%\s+of", g)
    if m and peer:
        return value / peer * 100 >= float(m.group(1))
    m = re.match(r"within\s+([\d.]+)x\s+of", g)
    if m and peer:
        return value / peer <= float(m.group(1))
    m = re.match(r">=\s*([\d.]+)x\s+faster", g)
    if m and peer and value:
        return peer / value >= float(m.group(1))
    m = re.match(r"<\s*([\d.]+)", g)
    if m:
        return value < float(m.group(1))
    m = re.match(r">=\s*([\d.]+)", g)
    if m:
        return value >= float(m.group(1))
    return None


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(l.split()[1] for l in f if l.startswith("MemTotal")))
            mem = f"{kib / 1048576:.0f} GiB"
    except (OSError, StopIteration):
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            distro = next((l.split("=", 1)[1].strip().strip('"') for l in f if l.startswith("PRETTY_NAME")), "")
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory": mem,
        "kernel": platform.release(),
        "distro": distro,
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    rows = {}  # (area, measure) -> list of records, in first-seen order
    with open(a.records) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.setdefault((r["area"], r["measure"]), []).append(r)
    if not rows:
        sys.exit("bench_report: no figures were recorded")

    m = machine()
    out = ["# Benchmarks", ""]
    out.append(
        "Written by `bash tests/bench.sh` (every benchmark, with its peers, in one run). Figures, never "
        "assertions: these machines are shared and noisy, so a figure is worth comparing only with the "
        "peer's figure from the same run — the ratio column. Ratios are wasmkube ÷ peer: below 1 is "
        "better for times, above 1 for rates."
    )
    out.append("")
    if a.quick:
        out += ["**Quick mode** (dev build, reduced sizes): this checks the harness, the figures mean nothing.", ""]
    out.append(
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory']}, {m['distro']}, kernel {m['kernel']}. "
        f"Date: {m['date']}. Commit: `{m['commit']}`, {'dev' if a.quick else 'release'} profile."
    )
    areas = list(AREAS) + sorted({area for area, _ in rows} - set(AREAS))
    for area in areas:
        measures = [(k, v) for k, v in rows.items() if k[0] == area]
        if not measures:
            continue
        out += ["", f"## {area}", "", AREAS.get(area, "")]
        if area in NO_PEER and not any(r.get("peer") for _, rs in measures for r in rs):
            out += ["", f"No peer side by side: {NO_PEER[area]}"]
        out += [
            "",
            "| measure | wasmkube | spread (min - max) | peer, same run | peer's figure | ratio | goal | met |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for (_, measure), rs in measures:
            unit = rs[0].get("unit", "")
            value = statistics.median(r["value"] for r in rs)
            lows = [r.get("min", r["value"]) for r in rs]
            highs = [r.get("max", r["value"]) for r in rs]
            spread = f"{number(min(lows))} - {number(max(highs))}" if len(rs) > 1 or "min" in rs[0] else ""
            peer = rs[0].get("peer", "")
            peers = [r["peer_value"] for r in rs if r.get("peer_value") is not None]
            peer_value = statistics.median(peers) if peers else None
            ratio = f"{value / peer_value:.2f}x" if peer_value else ""
            goal = rs[0].get("goal", "")
            met = goal_met(goal, value, peer_value)
            verdict = "" if met is None else ("yes" if met else "**no**")
            # Companion figures of the same samples, beside the main one.
            also = [f"{label} {number(statistics.median(r[key] for r in rs), unit)}"
                    for key, label in (("p50", "p50"), ("pss", "PSS")) if all(key in r for r in rs)]
            shown = number(value, unit) + (f" ({', '.join(also)})" if also else "")
            out.append(
                f"| {measure} | {shown} | {spread} | {peer} | {number(peer_value, unit) if peer_value is not None else ''} "
                f"| {ratio} | {goal} | {verdict} |"
            )
    out += [
        "",
        "## Notes",
        "",
        "What the figures owe to which change, what was tried and dropped, and older runs: "
        "[benchmark-notes.md](benchmark-notes.md).",
        "",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
