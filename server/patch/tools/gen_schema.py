#!/usr/bin/env python3
"""Generate `src/schema/generated.rs`: patch metadata for the Kubernetes built-in kinds.

Why generated: the metadata lives upstream in Go struct tags and `+marker` comments of
k8s.io/api; retyping hundreds of fields by hand invites silent drift. Two crates that the
workspace already downloads carry everything needed, so we derive the table from them:

* `k8s-openapi` (v1_33 module): every type's JSON field names (serde renames) and Rust
  field types, i.e. the *shape* of each object, with `inline` members already flattened.
* `k8s-pb`: the Go doc comments of every message, which keep the upstream markers
  `+patchStrategy`, `+patchMergeKey`, `+listType`, `+listMapKey`, `+structType`,
  `+mapType` and `+default`.

Both crates must be unpacked in ~/.cargo/registry: k8s-openapi is a workspace dependency;
k8s-pb is not, so if it is missing run `cargo fetch` in a scratch crate that depends on
`k8s-pb = "=0.9.0"`. Usage, from the workspace root:

    python3 server/patch/tools/gen_schema.py > server/patch/src/schema/generated.rs
    cargo fmt -p wasmkube-patch
"""

import glob
import os
import re
import sys

REGISTRY = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/"))[0]
OPENAPI = os.path.join(REGISTRY, "k8s-openapi-0.29.0/src/v1_33")
PB = os.path.join(REGISTRY, "k8s-pb-0.9.0/src")

# (group, version, kind) -> definition; the roots the API server serves.
ROOTS = [
    ("", "v1", "Pod", "io.k8s.api.core.v1.Pod"),
    ("", "v1", "PodTemplate", "io.k8s.api.core.v1.PodTemplate"),
    ("", "v1", "ReplicationController", "io.k8s.api.core.v1.ReplicationController"),
    ("", "v1", "Service", "io.k8s.api.core.v1.Service"),
    ("", "v1", "Endpoints", "io.k8s.api.core.v1.Endpoints"),
    ("", "v1", "Node", "io.k8s.api.core.v1.Node"),
    ("", "v1", "Namespace", "io.k8s.api.core.v1.Namespace"),
    ("", "v1", "ConfigMap", "io.k8s.api.core.v1.ConfigMap"),
    ("", "v1", "Secret", "io.k8s.api.core.v1.Secret"),
    ("", "v1", "ServiceAccount", "io.k8s.api.core.v1.ServiceAccount"),
    ("", "v1", "Event", "io.k8s.api.core.v1.Event"),
    ("", "v1", "PersistentVolume", "io.k8s.api.core.v1.PersistentVolume"),
    ("", "v1", "PersistentVolumeClaim", "io.k8s.api.core.v1.PersistentVolumeClaim"),
    ("", "v1", "ResourceQuota", "io.k8s.api.core.v1.ResourceQuota"),
    ("", "v1", "LimitRange", "io.k8s.api.core.v1.LimitRange"),
    ("", "v1", "Binding", "io.k8s.api.core.v1.Binding"),
    ("events.k8s.io", "v1", "Event", "io.k8s.api.events.v1.Event"),
    ("apps", "v1", "Deployment", "io.k8s.api.apps.v1.Deployment"),
    ("apps", "v1", "ReplicaSet", "io.k8s.api.apps.v1.ReplicaSet"),
    ("apps", "v1", "StatefulSet", "io.k8s.api.apps.v1.StatefulSet"),
    ("apps", "v1", "DaemonSet", "io.k8s.api.apps.v1.DaemonSet"),
    ("apps", "v1", "ControllerRevision", "io.k8s.api.apps.v1.ControllerRevision"),
    ("batch", "v1", "Job", "io.k8s.api.batch.v1.Job"),
    ("batch", "v1", "CronJob", "io.k8s.api.batch.v1.CronJob"),
    ("networking.k8s.io", "v1", "Ingress", "io.k8s.api.networking.v1.Ingress"),
    ("networking.k8s.io", "v1", "IngressClass", "io.k8s.api.networking.v1.IngressClass"),
    ("networking.k8s.io", "v1", "NetworkPolicy", "io.k8s.api.networking.v1.NetworkPolicy"),
    ("discovery.k8s.io", "v1", "EndpointSlice", "io.k8s.api.discovery.v1.EndpointSlice"),
    ("autoscaling", "v1", "HorizontalPodAutoscaler",
     "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler",
     "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"),
    ("autoscaling", "v1", "Scale", "io.k8s.api.autoscaling.v1.Scale"),
    ("coordination.k8s.io", "v1", "Lease", "io.k8s.api.coordination.v1.Lease"),
    ("node.k8s.io", "v1", "RuntimeClass", "io.k8s.api.node.v1.RuntimeClass"),
    ("policy", "v1", "PodDisruptionBudget", "io.k8s.api.policy.v1.PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "v1", "Role", "io.k8s.api.rbac.v1.Role"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "io.k8s.api.rbac.v1.ClusterRole"),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "io.k8s.api.rbac.v1.RoleBinding"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
     "io.k8s.api.rbac.v1.ClusterRoleBinding"),
    ("scheduling.k8s.io", "v1", "PriorityClass", "io.k8s.api.scheduling.v1.PriorityClass"),
    ("storage.k8s.io", "v1", "StorageClass", "io.k8s.api.storage.v1.StorageClass"),
]

# Newtypes and enums that travel as JSON scalars.
SCALARS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
}
# Free-form JSON: no metadata, merged like an unknown field.
UNTYPED = {
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
}


def index_openapi():
    """definition name -> source file of k8s-openapi."""
    out = {}
    for path in glob.glob(os.path.join(OPENAPI, "**/*.rs"), recursive=True):
        with open(path) as f:
            first = f.readline()
        m = re.match(r"// Generated from definition (\S+)", first)
        if m:
            out[m.group(1)] = path
    return out


def crate_path_to_def(path):
    """`crate::api::core::v1::Container` -> `io.k8s.api.core.v1.Container`."""
    parts = path.split("::")[1:]
    parts = [p.replace("apiextensions_apiserver", "apiextensions-apiserver")
             .replace("kube_aggregator", "kube-aggregator") for p in parts]
    return "io.k8s." + ".".join(parts)


def parse_rust_type(t):
    """Rust field type -> ('scalar'|'untyped'|('obj',def)|('list',elem)|('map',elem))."""
    t = t.strip()
    for wrap in ("Option<", "Box<", "std::boxed::Box<"):
        if t.startswith(wrap) and t.endswith(">"):
            return parse_rust_type(t[len(wrap):-1])
    if t.startswith("std::vec::Vec<"):
        elem = parse_rust_type(t[len("std::vec::Vec<"):-1])
        if isinstance(elem, tuple) and elem[0] in ("list", "map"):
            elem = "untyped"
        return ("list", elem)
    if t.startswith("std::collections::BTreeMap<std::string::String,"):
        elem = parse_rust_type(t[len("std::collections::BTreeMap<std::string::String,"):-1])
        if isinstance(elem, tuple) and elem[0] in ("list", "map"):
            elem = "untyped"
        return ("map", elem)
    if t in ("std::string::String", "bool", "i32", "i64", "f64", "crate::ByteString"):
        return "scalar"
    if t.startswith("crate::serde_json"):
        return "untyped"
    if t.startswith("crate::"):
        return ("obj", crate_path_to_def(t))
    raise SystemExit(f"unknown rust type {t}")


def parse_openapi_type(path):
    """-> (json field list [(json, snake, type)], kind) for one k8s-openapi file."""
    src = open(path).read()
    json_names = re.findall(r'"([^"]+)" => Field::Key_(\w+),', src)
    m = re.search(r"pub struct \w+ \{(.*?)\n\}", src, re.S)
    if not m:
        return None
    body = m.group(1) + "\n"
    types = {}
    for fm in re.finditer(r"pub (r#)?(\w+): (.+),\n", body):
        types[fm.group(2)] = parse_rust_type(fm.group(3))
    fields = []
    for json, snake in json_names:
        key = snake[2:] if snake.startswith("r#") else snake
        fields.append((json, key, types.get(key, "scalar")))
    return fields


def pb_file(defn):
    parts = defn[len("io.k8s."):].split(".")
    return os.path.join(PB, *[p.replace("-", "_") for p in parts[:-1]], "mod.rs")


PB_CACHE = {}


def parse_pb(path):
    """message -> {'markers': [...], 'fields': {norm: (markers, type_name)}}."""
    if path in PB_CACHE:
        return PB_CACHE[path]
    msgs = {}
    comments = []
    current = None
    if not os.path.exists(path):
        PB_CACHE[path] = msgs
        return msgs
    for line in open(path):
        s = line.strip()
        if s.startswith("///"):
            text = s[3:].strip()
            if text.startswith("+"):
                comments.append(text)
            continue
        m = re.match(r"pub struct (\w+) \{", s)
        if m:
            current = {"markers": comments, "fields": {}}
            msgs[m.group(1)] = current
            comments = []
            continue
        m = re.match(r"pub (r#)?(\w+):\s*(.*)", s)
        if m and current is not None:
            ty = m.group(3)
            tm = re.findall(r"(\w+)>*,?$", ty)
            current["fields"][norm(m.group(2))] = (comments, tm[0] if tm else "")
            comments = []
            continue
        if s.startswith("#[") or s == "":
            continue
        if s == "}":
            current = None
        comments = [] if not s.startswith("#[") else comments
    PB_CACHE[path] = msgs
    return msgs


def norm(name):
    return name.replace("_", "").lower()


def pb_markers(defn, snake, json_norms):
    """Markers of one field, following inline (embedded) pb members one level down."""
    msgs = parse_pb(pb_file(defn))
    msg = msgs.get(defn.split(".")[-1])
    if msg is None:
        return []
    hit = msg["fields"].get(norm(snake))
    if hit:
        return hit[0]
    for fname, (_, tname) in msg["fields"].items():
        if fname in json_norms or tname not in msgs:
            continue
        inner = msgs[tname]["fields"].get(norm(snake))
        if inner:
            return inner[0]
    return []


def type_markers(defn):
    msg = parse_pb(pb_file(defn)).get(defn.split(".")[-1])
    return msg["markers"] if msg else []


def marker(markers, name):
    vals = [m.split("=", 1)[1] for m in markers if m.startswith("+" + name + "=")]
    return vals


def key_default(defn, key):
    """`+default="TCP"` of a list-map key field of element type `defn`."""
    fields = parse_openapi_type(OPENAPI_INDEX[defn])
    norms = {norm(s) for _, s, _ in fields}
    for json, snake, _ in fields:
        if json == key:
            d = marker(pb_markers(defn, snake, norms), "default")
            if d:
                if not d[0].startswith('"'):
                    raise SystemExit(f"non-string key default {defn}.{key}")
                return d[0]
    return None


OPENAPI_INDEX = index_openapi()


def const_name(defn):
    parts = defn.split(".")
    group = parts[-3].replace("-", "_")
    if defn.startswith("io.k8s.apimachinery.pkg.apis.meta"):
        group = "meta"
    return f"{group}_{parts[-2]}_{parts[-1]}".upper()


def collect():
    order, seen, queue = [], set(), [r[3] for r in ROOTS]
    while queue:
        d = queue.pop(0)
        if d in seen or d in SCALARS or d in UNTYPED:
            continue
        seen.add(d)
        order.append(d)
        fields = parse_openapi_type(OPENAPI_INDEX[d])
        for _, _, t in fields or []:
            for sub in referenced(t):
                queue.append(sub)
    return order


def referenced(t):
    if isinstance(t, tuple):
        if t[0] == "obj":
            return [t[1]]
        return referenced(t[1])
    return []


def elem_expr(t):
    if t == "scalar":
        return "Elem::Scalar"
    if t == "untyped" or t[1] in UNTYPED:
        return "Elem::Untyped"
    if t[1] in SCALARS:
        return "Elem::Scalar"
    if t[0] != "obj":
        return "Elem::Untyped"
    return f"Elem::Object({const_name(t[1])})"


def field_expr(defn, json, snake, t, norms):
    mk = pb_markers(defn, snake, norms)
    strategies = (marker(mk, "patchStrategy") or [""])[0].split(",")
    retain = "retainKeys" in strategies
    ctor = "retain" if retain else "field"
    if t == "scalar":
        return f'{ctor}("{json}", Scalar)'
    kind = t[0]
    if kind == "obj":
        if t[1] in SCALARS:
            return f'{ctor}("{json}", Scalar)'
        if t[1] in UNTYPED or t[1] not in OPENAPI_INDEX or \
                parse_openapi_type(OPENAPI_INDEX[t[1]]) is None:
            return f'{ctor}("{json}", Untyped)'
        return f'{ctor}("{json}", Object({const_name(t[1])}))'
    if kind == "map":
        atomic = "true" if marker(mk, "mapType") == ["atomic"] else "false"
        return f'{ctor}("{json}", Map {{ value: {elem_expr(t[1])}, atomic: {atomic} }})'
    # list
    elem = t[1]
    merge_key = (marker(mk, "patchMergeKey") or [None])[0]
    if "merge" in strategies:
        strategy = f'ListStrategy::Merge {{ key: Some("{merge_key}") }}' if merge_key \
            else "ListStrategy::Merge { key: None }"
    else:
        strategy = "ListStrategy::Replace"
    list_type = (marker(mk, "listType") or [None])[0]
    keys = marker(mk, "listMapKey")
    if list_type is None and "merge" in strategies:
        # structured-merge-diff derives the list type from the patch strategy when the
        # field has no explicit +listType (kube-openapi schemaconv).
        list_type, keys = ("map", [merge_key]) if merge_key else ("set", [])
    if list_type == "map":
        edef = elem[1] if isinstance(elem, tuple) else None
        parts = []
        for k in keys:
            d = key_default(edef, k) if edef else None
            parts.append(f'key("{k}", Some({d}))' if d else f'key("{k}", None)')
        lt = f"ListType::Map(&[{', '.join(parts)}])"
    elif list_type == "set":
        lt = "ListType::Set"
    else:
        lt = "ListType::Atomic"
    return (f'{ctor}("{json}", List {{ elem: {elem_expr(elem)}, strategy: {strategy}, '
            f'list_type: {lt} }})')


def main():
    order = collect()
    out = sys.stdout
    out.write("// @generated by server/patch/tools/gen_schema.py from k8s-openapi 0.29 (v1_33)\n")
    out.write("// and the upstream markers kept in k8s-pb 0.9. Do not edit by hand: rerun the\n")
    out.write("// script. One generated data file is exempt from the file-size habit.\n\n")
    out.write("use super::model::{\n    Elem, ListStrategy, ListType, TypeDef, TypeId,\n"
              "    TypeRef::{List, Map, Object, Scalar, Untyped},\n    field, key, retain,\n};\n\n")
    for i, d in enumerate(order):
        out.write(f"pub(super) const {const_name(d)}: TypeId = TypeId({i});\n")
    out.write("\n/// Root kinds: (group, version, kind) -> type.\n")
    out.write("pub(super) static ROOTS: &[(&str, &str, &str, TypeId)] = &[\n")
    for g, v, k, d in ROOTS:
        out.write(f'    ("{g}", "{v}", "{k}", {const_name(d)}),\n')
    out.write("];\n\n")
    out.write(f"pub(super) static TYPES: [TypeDef; {len(order)}] = [\n")
    for d in order:
        fields = parse_openapi_type(OPENAPI_INDEX[d])
        atomic = "true" if "+structType=atomic" in type_markers(d) else "false"
        norms = {norm(s) for _, s, _ in fields}
        out.write(f'    TypeDef {{\n        name: "{d}",\n        atomic: {atomic},\n'
                  "        fields: &[\n")
        for json, snake, t in sorted(fields):
            out.write(f"            {field_expr(d, json, snake, t, norms)},\n")
        out.write("        ],\n    },\n")
    out.write("];\n")


if __name__ == "__main__":
    main()
