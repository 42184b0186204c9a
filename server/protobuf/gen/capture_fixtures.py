#!/usr/bin/env python3
"""Captures the protobuf request bodies the real kubectl sends, as test fixtures.

Usage (from server/protobuf/):
    python3 gen/capture_fixtures.py tests/fixtures /usr/bin/kubectl \
        /usr/lib/google-cloud-sdk/bin/kubectl.1.33

The first kubectl (the 1.32 one the stub's /version selects) runs COMMANDS; the optional second,
newer one runs NEWER_COMMANDS (kubectl 1.33 autoscales with autoscaling/v2).

Runs a stub API server on 127.0.0.1 (a free port) that answers /version, legacy discovery and the
GETs `kubectl autoscale` and `create job --from` make, saves every POST body to <out>/<name>.pb
and answers 201 with a small JSON echo. kubectl never falls back to JSON for these commands, so
the bytes are exactly what our API server receives. The same command is then run with
`--dry-run=client -o json`, and kubectl's own JSON rendering of the object is saved to
<out>/<name>.json: the oracle the decoder must match. A command that sends no protobuf POST is an
error. The output is deterministic: rerunning reproduces the committed fixtures byte for byte.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMANDS = {
    "deployment": ["create", "deployment", "d", "--image=hello:latest", "--replicas=2",
                   "--port=8080"],
    "configmap": ["create", "configmap", "cm", "--from-literal=a=b"],
    "secret": ["create", "secret", "generic", "s", "--from-literal=k=v"],
    "namespace": ["create", "namespace", "ns1"],
    "job": ["create", "job", "j", "--image=hello:latest", "--", "echo", "hi"],
    "hpa": ["autoscale", "deployment", "d", "--min=1", "--max=3", "--cpu-percent=50"],
    "cronjob": ["create", "cronjob", "cj", "--image=hello:latest", "--schedule=*/5 * * * *",
                "--", "date"],
    "service": ["create", "service", "clusterip", "svc", "--tcp=80:http"],
    "quota": ["create", "quota", "q", "--hard=cpu=1500m,memory=1Gi,pods=10"],
    "pdb": ["create", "poddisruptionbudget", "pdb", "--selector=app=d", "--min-available=50%"],
    "secret_binary": ["create", "secret", "generic", "bin", "--from-file=blob=BLOB",
                      "--type=example.com/bin"],
    # kubectl copies the whole job template of the CronJob it GETs (gen/rich_cronjob.json, a
    # pod spec touching most of PodSpec) into a Job: real Go encoding of a complete object.
    "job_from_cronjob": ["create", "job", "rich-run", "--from=cronjob/rich"],
}
NEWER_COMMANDS = {
    "hpa_v2": ["autoscale", "deployment", "d", "--min=1", "--max=3", "--cpu-percent=50"],
}

RESOURCES = {
    "/api/v1": [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True),
                ("secrets", "Secret", True), ("services", "Service", True),
                ("pods", "Pod", True), ("resourcequotas", "ResourceQuota", True)],
    "/apis/apps/v1": [("deployments", "Deployment", True)],
    "/apis/batch/v1": [("jobs", "Job", True), ("cronjobs", "CronJob", True)],
    "/apis/autoscaling/v1": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "/apis/autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "/apis/policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
}
GROUPS = {"apps": ["v1"], "batch": ["v1"], "autoscaling": ["v2", "v1"], "policy": ["v1"]}
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "d", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
             "template": {"metadata": {"labels": {"app": "d"}},
                          "spec": {"containers": [{"name": "hello", "image": "hello"}]}}},
}


def discovery(path):
    if path == "/version":
        return {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        groups = [{"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                   "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                  for g, vs in GROUPS.items()]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    if path in RESOURCES:
        gv = path.removeprefix("/api/").removeprefix("/apis/")
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        items = [{"name": n, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": verbs}
                 for n, k, ns in RESOURCES[path]]
        if path == "/apis/apps/v1":
            items.append({"name": "deployments/scale", "singularName": "", "namespaced": True,
                          "group": "autoscaling", "version": "v1", "kind": "Scale",
                          "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "groupVersion": gv, "resources": items}
    if path == "/apis/apps/v1/namespaces/default/deployments/d":
        return DEPLOYMENT
    if path == "/apis/batch/v1/namespaces/default/cronjobs/rich":
        return json.loads((Path(__file__).parent / "rich_cronjob.json").read_text())
    return None


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def fields(data):
    """Yields (number, value) of a protobuf message, length-delimited values as bytes."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        if key & 7 == 0:
            value, pos = read_varint(data, pos)
        elif key & 7 == 2:
            length, pos = read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        else:
            raise ValueError(f"wire type {key & 7}")
        yield key >> 3, value


def echo(body):
    """A JSON echo of apiVersion, kind and metadata.name, read from the protobuf envelope."""
    unknown = dict(fields(body[4:]))
    type_meta = dict(fields(unknown[1]))
    metadata = dict(fields(dict(fields(unknown[2]))[1]))
    return {"apiVersion": type_meta[1].decode(), "kind": type_meta[2].decode(),
            "metadata": {"name": metadata.get(1, b"").decode(), "namespace": "default"}}


class Handler(BaseHTTPRequestHandler):
    saved = []

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        obj = discovery(self.path.split("?")[0])
        if obj is None:
            self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                             "reason": "NotFound", "code": 404})
        else:
            self.reply(200, obj)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Handler.saved.append((self.headers["Content-Type"], body))
        self.reply(201, echo(body))

    def log_message(self, *args):
        pass


def capture(kubectl, url, env, out, name, args):
    """Runs one command twice: for real (saving the POST body) and as a client-side dry run."""
    args = [a.replace("BLOB", str(Path(env["HOME"]) / "blob")) for a in args]
    split = args.index("--") if "--" in args else len(args)
    Handler.saved.clear()
    run = subprocess.run([kubectl, "--server", url, *args], env=env, capture_output=True,
                         text=True, timeout=60)
    print(f"{name}: {run.stdout.strip()} {run.stderr.strip()}")
    if len(Handler.saved) != 1 or Handler.saved[0][0] != "application/vnd.kubernetes.protobuf":
        raise SystemExit(f"{name}: expected one protobuf POST, got {Handler.saved}")
    (out / f"{name}.pb").write_bytes(Handler.saved[0][1])
    dry = subprocess.run([kubectl, "--server", url, *args[:split], "--dry-run=client", "-o",
                          "json", *args[split:]], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    (out / f"{name}.json").write_text(dry.stdout)


def main():
    out, kubectl, newer = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    out.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "blob").write_bytes(bytes(range(256)))
        env = dict(os.environ, HOME=home, KUBECONFIG=str(Path(home) / "none"))
        for name, args in COMMANDS.items():
            capture(kubectl, url, env, out, name, args)
        for name, args in NEWER_COMMANDS.items() if newer else ():
            capture(newer[0], url, env, out, name, args)
    server.shutdown()


if __name__ == "__main__":
    main()
