#!/usr/bin/env python3
"""Cross-checks the generated schema against the k8s-pb crate's prost bindings.

Usage (from server/protobuf/, after `cargo fetch` has put k8s-pb in the cargo registry):
    python3 gen/crosscheck_k8s_pb.py [path/to/k8s-pb-X.Y.Z/src]

k8s-pb is generated from the upstream generated.proto files by a different route (protoc and
prost), so agreement on every field number, scalar type, and list/map shape is independent
evidence that reading kubectl's Go types went right. Prints each disagreement; fields k8s-pb has
and we lack are expected when k8s-pb tracks a newer Kubernetes than our kubectl.
"""

import glob
import os
import re
import sys
from pathlib import Path

MODULES = {
    "core_v1": "api/core/v1", "apps_v1": "api/apps/v1", "batch_v1": "api/batch/v1",
    "autoscaling_v1": "api/autoscaling/v1", "autoscaling_v2": "api/autoscaling/v2",
    "networking_v1": "api/networking/v1", "policy_v1": "api/policy/v1",
    "rbac_v1": "api/rbac/v1", "scheduling_v1": "api/scheduling/v1",
    "coordination_v1": "api/coordination/v1", "meta_v1": "apimachinery/pkg/apis/meta/v1",
}
SCALAR = {"STRING": "string", "BYTES": "bytes", "BOOL": "bool", "INT32": "int32", "INT64": "int64"}
GENERATED = Path(__file__).resolve().parent.parent / "src/schema/generated"


def prost_messages(path):
    """{lowercased struct name: {tag: prost attribute text}} from a prost-generated module."""
    out, current = {}, None
    for line in open(path):
        if m := re.match(r"pub struct (\w+) \{", line):
            current = out.setdefault(m.group(1).lower(), {})
        elif (m := re.search(r'#\[prost\(([^)]*)tag = "(\d+)"', line)) and current is not None:
            current[int(m.group(2))] = m.group(1).strip().rstrip(",")
    return out


def our_messages(path):
    """{name: [(shape, number, json, kind)]} from one generated module."""
    text = path.read_text()
    pattern = r'static \w+: Message = Message \{\s*name: "(\w+)",\s*fields: &\[(.*?)\],\s*\};'
    field = (r'(single|omitempty|repeated|map|inline)\(\s*(\d+),\s*"(\w*)",\s*'
             r'(msg\(&[\w:]+\)|[A-Z0-9_]+),?\s*\)')
    return {m.group(1): re.findall(field, m.group(2)) for m in re.finditer(pattern, text, re.S)}


def compare(module, name, fields, theirs):
    problems = []
    for shape, number, json_name, kind in fields:
        attr = theirs.get(int(number))
        where = f"{module} {name}.{json_name or '(inline)'} #{number}"
        if attr is None:
            problems.append(f"{where}: not in k8s-pb")
            continue
        is_map = attr.startswith(("map", "btree_map"))
        if (shape == "map") != is_map or (shape == "repeated") != ("repeated" in attr):
            problems.append(f"{where}: shape {shape} vs {attr}")
        elif is_map:
            value = attr.split('"')[1].split(",")[1].strip()
            if SCALAR.get(kind, "message") != value:
                problems.append(f"{where}: map value {kind} vs {attr}")
        elif SCALAR.get(kind, "message") != attr.split(",")[0].split("=")[0].strip():
            problems.append(f"{where}: type {kind} vs {attr}")
    ours = {int(f[1]) for f in fields}
    problems += [f"{module} {name} #{n}: only in k8s-pb ({a})"
                 for n, a in theirs.items() if n not in ours]
    return problems


def main():
    pattern = os.path.expanduser("~/.cargo/registry/src/*/k8s-pb-*/src")
    root = Path(sys.argv[1] if len(sys.argv) > 1 else sorted(glob.glob(pattern))[-1])
    problems, checked = [], 0
    for module, rel in MODULES.items():
        theirs = prost_messages(root / rel / "mod.rs")
        for name, fields in our_messages(GENERATED / f"{module}.rs").items():
            checked += 1
            if name.lower() not in theirs:
                problems.append(f"{module} {name}: message not in k8s-pb")
            else:
                problems += compare(module, name, fields, theirs[name.lower()])
    print("\n".join(problems))
    print(f"{checked} messages checked against {root}, {len(problems)} differences")


if __name__ == "__main__":
    main()
