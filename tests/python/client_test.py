"""The official Python `kubernetes` client against a running wasmkube server.

Usage: client_test.py KUBECONFIG. Exits non-zero on the first failed check.
The server must run with a small --history-revisions so that the compaction check can force a 410.
"""
import sys
import threading
import time

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
NS = "py"


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))

# CoreV1Api CRUD
cm = core.create_namespaced_config_map(NS, {"metadata": {"name": "c1", "labels": {"k": "v"}}, "data": {"a": "1"}})
check(cm.metadata.uid and cm.metadata.resource_version, "create returns uid and resourceVersion")
cm.data["a"] = "2"
core.replace_namespaced_config_map("c1", NS, cm)
check(core.read_namespaced_config_map("c1", NS).data["a"] == "2", "replace")
core.patch_namespaced_config_map("c1", NS, {"data": {"b": "3"}})
got = core.read_namespaced_config_map("c1", NS)
check(got.data == {"a": "2", "b": "3"}, "strategic merge patch from a dict body")
check([c.metadata.name for c in core.list_namespaced_config_map(NS, label_selector="k=v").items] == ["c1"], "list with label selector")
try:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "c1"}})
    check(False, "duplicate create fails")
except ApiException as e:
    check(e.status == 409 and "AlreadyExists" in e.body, "duplicate create is 409 AlreadyExists")
try:
    core.read_namespaced_config_map("nope", NS)
    check(False, "missing object fails")
except ApiException as e:
    check(e.status == 404, "missing object is 404")
core.delete_namespaced_config_map("c1", NS)
check(not core.list_namespaced_config_map(NS).items, "delete")

# AppsV1Api CRUD
dep = {
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "http-hello:latest"}]}},
    },
}
d = apps.create_namespaced_deployment(NS, dep)
check(d.spec.strategy.type == "RollingUpdate" and d.metadata.generation == 1, "deployment defaults and generation")
apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 4}})
check(apps.read_namespaced_deployment("web", NS).spec.replicas == 4, "scale subresource")
check(apps.read_namespaced_deployment_scale("web", NS).status.selector == "app=web", "scale selector")
apps.delete_namespaced_deployment("web", NS)

# A watch that outlives compaction: the old revision answers 410, a relist recovers.
rv0 = core.list_namespaced_config_map(NS).metadata.resource_version
for i in range(20):
    core.create_namespaced_config_map(NS, {"metadata": {"name": f"fill{i}"}})
try:
    for _ in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version=rv0, timeout_seconds=5):
        pass
    check(False, "watch from a compacted revision fails")
except ApiException as e:
    check(e.status == 410, "watch from a compacted revision is 410 Expired")
relist = core.list_namespaced_config_map(NS)
check(len(relist.items) == 20, "relist after 410")
seen = []


def follow():
    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=relist.metadata.resource_version, timeout_seconds=10):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["object"].metadata.name == "after":
            w.stop()


t = threading.Thread(target=follow)
t.start()
time.sleep(1)
core.create_namespaced_config_map(NS, {"metadata": {"name": "after"}})
t.join(15)
check(("ADDED", "after") in seen, "watch resumed from the relisted revision")

# DynamicClient: discovery-driven access to any resource.
dyn = dynamic.DynamicClient(client.ApiClient())
deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
dyn_dep = deployments.create(body=dict(dep, apiVersion="apps/v1", kind="Deployment"), namespace=NS)
check(dyn_dep.metadata.name == "web", "dynamic create")
check([x.metadata.name for x in deployments.get(namespace=NS).items] == ["web"], "dynamic list")
hpa = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
check(hpa.namespaced, "dynamic discovery of autoscaling/v2")
deployments.delete(name="web", namespace=NS)
print("python client: all checks passed")
