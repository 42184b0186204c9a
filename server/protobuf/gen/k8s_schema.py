#!/usr/bin/env python3
"""Generates src/schema/generated/*.rs, the protobuf schema table of the Kubernetes built-in kinds.

Usage (from server/protobuf/):
    python3 gen/k8s_schema.py /usr/lib/google-cloud-sdk/bin/kubectl.1.33 src/schema/generated
    rustfmt --edition 2024 src/schema/generated/*.rs
    python3 gen/crosscheck_k8s_pb.py   # optional: compare with the k8s-pb crate's prost types

The output is deterministic: rerunning on the same binary reproduces the committed files.

Why a kubectl binary and not the generated.proto files: the Go struct tags compiled into kubectl
hold everything the .proto files hold (field number, proto name) plus what decides how the JSON
API renders a field -- its JSON name, `omitempty`, `,inline` embedding and whether the Go field is
a pointer. Non-pointer scalars are always written to the wire, so an `omitempty` one that arrives
as "" or 0 must be dropped, while a pointer (`replicas: 0`, `suspend: false`) must be kept. The
binary is also exactly the client whose requests we decode.

The wire type is derived from the Go type, never from the tag's "bytes"/"varint" hint: those hints
are hand-maintained upstream and wrong in places (PodSpec.priority says "bytes", is a varint).
"""

import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import go_types  # noqa: E402

META = "k8s.io/apimachinery/pkg/apis/meta/v1"
# Go package -> (Rust module, apiVersion of its kinds). Kinds of every listed k8s.io/api package
# are roots; meta/v1 only contributes the messages they reach.
PACKAGES = {
    "k8s.io/api/core/v1": ("core_v1", "v1"),
    "k8s.io/api/apps/v1": ("apps_v1", "apps/v1"),
    "k8s.io/api/batch/v1": ("batch_v1", "batch/v1"),
    "k8s.io/api/autoscaling/v1": ("autoscaling_v1", "autoscaling/v1"),
    "k8s.io/api/autoscaling/v2": ("autoscaling_v2", "autoscaling/v2"),
    "k8s.io/api/networking/v1": ("networking_v1", "networking.k8s.io/v1"),
    "k8s.io/api/policy/v1": ("policy_v1", "policy/v1"),
    "k8s.io/api/rbac/v1": ("rbac_v1", "rbac.authorization.k8s.io/v1"),
    "k8s.io/api/scheduling/v1": ("scheduling_v1", "scheduling.k8s.io/v1"),
    "k8s.io/api/coordination/v1": ("coordination_v1", "coordination.k8s.io/v1"),
    META: ("meta_v1", None),
}
# Messages whose JSON form is not an object; the decoder has hand-written code for each
# (src/special.rs). Duration is reached by no selected kind and so not implemented: should a new
# package reach it, `DURATION` is missing from schema::build and the crate will not compile.
SPECIAL = {
    f"{META}.Time": "TIME",
    f"{META}.MicroTime": "MICRO_TIME",
    f"{META}.Duration": "DURATION",
    f"{META}.FieldsV1": "FIELDS_V1",
    "k8s.io/apimachinery/pkg/runtime.RawExtension": "RAW_EXTENSION",
    "k8s.io/apimachinery/pkg/util/intstr.IntOrString": "INT_OR_STRING",
    "k8s.io/apimachinery/pkg/api/resource.Quantity": "QUANTITY",
}
SCALARS = {"string", "bool", "int32", "int64"}


class Unsupported(Exception):
    pass


def parse_tag(tag):
    """Go struct tag -> {key: value}."""
    return dict(re.findall(r'(\w+):"((?:[^"\\]|\\.)*)"', tag))


def static_name(go_name):
    """PodSpec -> POD_SPEC, HTTPGetAction -> HTTP_GET_ACTION."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", go_name)
    return spaced.upper()


class Generator:
    def __init__(self, structs):
        self.structs = structs
        self.messages = {}  # qualified Go name -> list of field dicts, in wire-number order
        self.pending = []

    def rust_ref(self, qualified, from_module):
        pkg, name = qualified.rsplit(".", 1)
        module = PACKAGES[pkg][0]
        prefix = "" if module == from_module else f"{module}::"
        return f"&{prefix}{static_name(name)}"

    def value_kind(self, go_type, module):
        """Rust `Kind` expression (a `schema::build` item) for a non-repeated Go value type."""
        if go_type.kind == "slice" and go_type.elem.kind == "uint8":
            return "BYTES"
        if go_type.kind in SCALARS:
            return go_type.kind.upper()
        if go_type.kind == "struct":
            q = go_type.qualified()
            if q in SPECIAL:
                return SPECIAL[q]
            if go_type.pkg_path not in PACKAGES:
                raise Unsupported(f"message {q} is outside the selected packages")
            if q not in self.messages:
                self.messages[q] = None
                self.pending.append(q)
            return f"msg({self.rust_ref(q, module)})"
        raise Unsupported(f"Go type {go_type.name} ({go_type.kind})")

    def field(self, go_field, module):
        tags = parse_tag(go_field.tag)
        proto = tags.get("protobuf", "-").split(",")
        if proto[0] == "-":
            return None
        number = int(proto[1])
        json_parts = tags.get("json", "").split(",")
        json_name, options = json_parts[0], json_parts[1:]
        if json_name == "-":
            raise Unsupported(f"{go_field.name} is on the wire but not in JSON")
        go_type, pointer = go_field.typ, False
        if go_type.kind == "ptr":
            go_type, pointer = go_type.elem, True
        shape = "single"
        if "inline" in options and not json_name:
            shape = "inline"
        elif go_type.kind == "map":
            if go_type.key.kind != "string":
                raise Unsupported(f"map key {go_type.key.name}")
            shape, go_type = "map", go_type.elem
        elif go_type.kind == "slice" and go_type.elem.kind != "uint8":
            shape, go_type = "repeated", go_type.elem
        kind = self.value_kind(go_type, module)
        # Only a non-pointer Go scalar is written to the wire when it is zero; encoding/json
        # then drops it if tagged omitempty (structs are never dropped by omitempty).
        scalar = kind in ("BYTES", "STRING", "BOOL", "INT32", "INT64")
        if shape == "single" and not pointer and "omitempty" in options and scalar:
            shape = "omitempty"
        return {"number": number, "json": json_name, "kind": kind, "shape": shape}

    def message(self, qualified):
        module = PACKAGES[qualified.rsplit(".", 1)[0]][0]
        fields = []
        for go_field in self.structs[qualified].fields:
            try:
                f = self.field(go_field, module)
            except Unsupported as err:
                raise SystemExit(f"{qualified}.{go_field.name}: unsupported: {err}")
            if f:
                fields.append(f)
        numbers = [f["number"] for f in fields]
        if len(set(numbers)) != len(numbers):
            raise SystemExit(f"{qualified}: duplicate field numbers {numbers}")
        self.messages[qualified] = sorted(fields, key=lambda f: f["number"])

    def kinds(self):
        """(apiVersion, kind, qualified) for every struct embedding metav1.TypeMeta."""
        out = []
        for q, t in sorted(self.structs.items()):
            if t.pkg_path not in PACKAGES or PACKAGES[t.pkg_path][1] is None:
                continue
            embeds_type_meta = any(f.embedded and f.typ.qualified() == f"{META}.TypeMeta"
                                   for f in t.fields)
            if embeds_type_meta:
                out.append((PACKAGES[t.pkg_path][1], t.short_name(), q))
        return out

    def run(self):
        kinds = self.kinds()
        for _, _, q in kinds:
            self.messages[q] = None
            self.pending.append(q)
        while self.pending:
            self.message(self.pending.pop())
        return kinds


def render_message(qualified, fields):
    name = qualified.rsplit(".", 1)[1]
    lines = [f"pub(crate) static {static_name(name)}: Message = Message {{",
             f'    name: "{name}",', "    fields: &["]
    for f in fields:
        lines.append(f'        {f["shape"]}({f["number"]}, "{f["json"]}", {f["kind"]}),')
    lines += ["    ],", "};", ""]
    return lines


def render_module(items, module, source):
    body = []
    for q, fields in sorted(items):
        body += render_message(q, fields)
    text = "\n".join(body)
    others = sorted(m for m, _ in PACKAGES.values() if m != module and f"&{m}::" in text)
    lines = [f"//! @generated by gen/k8s_schema.py from {source}.",
             "//! Do not edit by hand: rerun the generator.", ""]
    lines += [f"use super::{m};" for m in others]
    lines += ["use crate::schema::build::*;", "", text]
    return "\n".join(lines)


def write_outputs(out_dir, gen, kinds, source):
    out_dir.mkdir(parents=True, exist_ok=True)
    by_module = {}
    for q, fields in gen.messages.items():
        by_module.setdefault(PACKAGES[q.rsplit(".", 1)[0]][0], []).append((q, fields))
    for module, items in sorted(by_module.items()):
        names = [static_name(q.rsplit(".", 1)[1]) for q, _ in items]
        if len(set(names)) != len(names):
            raise SystemExit(f"{module}: two messages map to one static name")
        (out_dir / f"{module}.rs").write_text(render_module(items, module, source))
    mod = [f"//! @generated by gen/k8s_schema.py from {source}.",
           "//! Do not edit by hand: rerun the generator.", "",
           "use crate::schema::Message;", ""]
    mod += [f"mod {m};" for m in sorted(by_module)] + [""]
    mod += ["/// Every top-level kind: (apiVersion, kind, its message).",
            "pub(crate) static KINDS: &[(&str, &str, &Message)] = &["]
    for api_version, kind, q in kinds:
        module = PACKAGES[q.rsplit(".", 1)[0]][0]
        mod.append(f'    ("{api_version}", "{kind}", &{module}::{static_name(kind)}),')
    mod += ["];", ""]
    (out_dir / "mod.rs").write_text("\n".join(mod))


def kubectl_version(binary):
    out = subprocess.run([binary, "version", "--client", "-o", "json"], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)["clientVersion"]["gitVersion"]


def main():
    binary, out_dir = sys.argv[1], Path(sys.argv[2])
    version = kubectl_version(binary)
    go_minor = int(re.search(rb"go1\.(\d+)", Path(binary).read_bytes()).group(1))
    sys.setrecursionlimit(100_000)
    structs = go_types.GoBinary(binary, swiss_maps=go_minor >= 24).named_structs()
    gen = Generator(structs)
    kinds = gen.run()
    source = f"the Go API types compiled into kubectl {version}"
    write_outputs(out_dir, gen, kinds, source)
    print(f"{len(kinds)} kinds, {len(gen.messages)} messages from kubectl {version}")


if __name__ == "__main__":
    main()
