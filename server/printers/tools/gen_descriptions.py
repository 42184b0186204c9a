"""Regenerates src/descriptions.rs from the k8s-openapi doc comments in the local cargo registry.

Usage: python3 tools/gen_descriptions.py > src/descriptions.rs && cargo fmt -p wasmkube-printers
"""
import glob, os, re, sys
cargo_home = os.environ.get('CARGO_HOME', os.path.expanduser('~/.cargo'))
root = glob.glob(f'{cargo_home}/registry/src/*/k8s-openapi-0.29.0/src/v1_33')[0]
specs = [
 ("META_NAME","apimachinery/pkg/apis/meta/v1/object_meta.rs","name"),
 ("META_CREATION_TIMESTAMP","apimachinery/pkg/apis/meta/v1/object_meta.rs","creation_timestamp"),
 ("POD_STATUS_POD_IP","api/core/v1/pod_status.rs","pod_ip"),
 ("POD_SPEC_NODE_NAME","api/core/v1/pod_spec.rs","node_name"),
 ("POD_STATUS_NOMINATED_NODE_NAME","api/core/v1/pod_status.rs","nominated_node_name"),
 ("POD_SPEC_READINESS_GATES","api/core/v1/pod_spec.rs","readiness_gates"),
 ("POD_SPEC_NODE_SELECTOR","api/core/v1/pod_spec.rs","node_selector"),
 ("RC_SPEC_REPLICAS","api/core/v1/replication_controller_spec.rs","replicas"),
 ("RC_STATUS_REPLICAS","api/core/v1/replication_controller_status.rs","replicas"),
 ("RC_STATUS_READY_REPLICAS","api/core/v1/replication_controller_status.rs","ready_replicas"),
 ("RC_SPEC_SELECTOR","api/core/v1/replication_controller_spec.rs","selector"),
 ("RS_SPEC_REPLICAS","api/apps/v1/replica_set_spec.rs","replicas"),
 ("RS_STATUS_REPLICAS","api/apps/v1/replica_set_status.rs","replicas"),
 ("RS_STATUS_READY_REPLICAS","api/apps/v1/replica_set_status.rs","ready_replicas"),
 ("RS_SPEC_SELECTOR","api/apps/v1/replica_set_spec.rs","selector"),
 ("DS_STATUS_DESIRED","api/apps/v1/daemon_set_status.rs","desired_number_scheduled"),
 ("DS_STATUS_CURRENT","api/apps/v1/daemon_set_status.rs","current_number_scheduled"),
 ("DS_STATUS_READY","api/apps/v1/daemon_set_status.rs","number_ready"),
 ("DS_STATUS_UPDATED","api/apps/v1/daemon_set_status.rs","updated_number_scheduled"),
 ("DS_STATUS_AVAILABLE","api/apps/v1/daemon_set_status.rs","number_available"),
 ("DS_SPEC_SELECTOR","api/apps/v1/daemon_set_spec.rs","selector"),
 ("DEPLOYMENT_STATUS_UPDATED","api/apps/v1/deployment_status.rs","updated_replicas"),
 ("DEPLOYMENT_STATUS_AVAILABLE","api/apps/v1/deployment_status.rs","available_replicas"),
 ("DEPLOYMENT_SPEC_SELECTOR","api/apps/v1/deployment_spec.rs","selector"),
 ("CONTROLLER_REVISION_REVISION","api/apps/v1/controller_revision.rs","revision"),
 ("JOB_STATUS_SUCCEEDED","api/batch/v1/job_status.rs","succeeded"),
 ("JOB_SPEC_SELECTOR","api/batch/v1/job_spec.rs","selector"),
 ("CRONJOB_SPEC_SCHEDULE","api/batch/v1/cron_job_spec.rs","schedule"),
 ("CRONJOB_SPEC_TIME_ZONE","api/batch/v1/cron_job_spec.rs","time_zone"),
 ("CRONJOB_SPEC_SUSPEND","api/batch/v1/cron_job_spec.rs","suspend"),
 ("CRONJOB_STATUS_ACTIVE","api/batch/v1/cron_job_status.rs","active"),
 ("CRONJOB_STATUS_LAST_SCHEDULE","api/batch/v1/cron_job_status.rs","last_schedule_time"),
 ("SERVICE_SPEC_TYPE","api/core/v1/service_spec.rs","type_"),
 ("SERVICE_SPEC_CLUSTER_IP","api/core/v1/service_spec.rs","cluster_ip"),
 ("SERVICE_SPEC_EXTERNAL_IPS","api/core/v1/service_spec.rs","external_ips"),
 ("SERVICE_SPEC_PORTS","api/core/v1/service_spec.rs","ports"),
 ("SERVICE_SPEC_SELECTOR","api/core/v1/service_spec.rs","selector"),
 ("ENDPOINTS_SUBSETS","api/core/v1/endpoints.rs","subsets"),
 ("NODE_INFO_KUBELET_VERSION","api/core/v1/node_system_info.rs","kubelet_version"),
 ("NODE_STATUS_ADDRESSES","api/core/v1/node_status.rs","addresses"),
 ("NODE_INFO_OS_IMAGE","api/core/v1/node_system_info.rs","os_image"),
 ("NODE_INFO_KERNEL_VERSION","api/core/v1/node_system_info.rs","kernel_version"),
 ("NODE_INFO_CONTAINER_RUNTIME","api/core/v1/node_system_info.rs","container_runtime_version"),
 ("EVENT_LAST_TIMESTAMP","api/core/v1/event.rs","last_timestamp"),
 ("EVENT_TYPE","api/core/v1/event.rs","type_"),
 ("EVENT_REASON","api/core/v1/event.rs","reason"),
 ("EVENT_INVOLVED_OBJECT","api/core/v1/event.rs","involved_object"),
 ("OBJECT_REFERENCE_FIELD_PATH","api/core/v1/object_reference.rs","field_path"),
 ("EVENT_SOURCE","api/core/v1/event.rs","source"),
 ("EVENT_MESSAGE","api/core/v1/event.rs","message"),
 ("EVENT_FIRST_TIMESTAMP","api/core/v1/event.rs","first_timestamp"),
 ("EVENT_COUNT","api/core/v1/event.rs","count"),
 ("SECRET_TYPE","api/core/v1/secret.rs","type_"),
 ("SECRET_DATA","api/core/v1/secret.rs","data"),
 ("SERVICE_ACCOUNT_SECRETS","api/core/v1/service_account.rs","secrets"),
 ("PV_SPEC_CAPACITY","api/core/v1/persistent_volume_spec.rs","capacity"),
 ("PV_SPEC_ACCESS_MODES","api/core/v1/persistent_volume_spec.rs","access_modes"),
 ("PV_SPEC_RECLAIM_POLICY","api/core/v1/persistent_volume_spec.rs","persistent_volume_reclaim_policy"),
 ("PV_STATUS_PHASE","api/core/v1/persistent_volume_status.rs","phase"),
 ("PV_SPEC_CLAIM_REF","api/core/v1/persistent_volume_spec.rs","claim_ref"),
 ("PV_STATUS_REASON","api/core/v1/persistent_volume_status.rs","reason"),
 ("PV_SPEC_VOLUME_MODE","api/core/v1/persistent_volume_spec.rs","volume_mode"),
 ("PVC_STATUS_PHASE","api/core/v1/persistent_volume_claim_status.rs","phase"),
 ("PVC_SPEC_VOLUME_NAME","api/core/v1/persistent_volume_claim_spec.rs","volume_name"),
 ("PVC_STATUS_CAPACITY","api/core/v1/persistent_volume_claim_status.rs","capacity"),
 ("PVC_STATUS_ACCESS_MODES","api/core/v1/persistent_volume_claim_status.rs","access_modes"),
 ("PVC_SPEC_VOLUME_MODE","api/core/v1/persistent_volume_claim_spec.rs","volume_mode"),
 ("HPA_SPEC_SCALE_TARGET_REF","api/autoscaling/v2/horizontal_pod_autoscaler_spec.rs","scale_target_ref"),
 ("HPA_SPEC_METRICS","api/autoscaling/v2/horizontal_pod_autoscaler_spec.rs","metrics"),
 ("HPA_SPEC_MIN_REPLICAS","api/autoscaling/v2/horizontal_pod_autoscaler_spec.rs","min_replicas"),
 ("HPA_SPEC_MAX_REPLICAS","api/autoscaling/v2/horizontal_pod_autoscaler_spec.rs","max_replicas"),
 ("HPA_STATUS_CURRENT_REPLICAS","api/autoscaling/v2/horizontal_pod_autoscaler_status.rs","current_replicas"),
 ("CONFIG_MAP_DATA","api/core/v1/config_map.rs","data"),
 ("NETWORK_POLICY_SPEC_POD_SELECTOR","api/networking/v1/network_policy_spec.rs","pod_selector"),
 ("LEASE_SPEC_HOLDER_IDENTITY","api/coordination/v1/lease_spec.rs","holder_identity"),
 ("ENDPOINT_SLICE_ADDRESS_TYPE","api/discovery/v1/endpoint_slice.rs","address_type"),
 ("ENDPOINT_SLICE_PORTS","api/discovery/v1/endpoint_slice.rs","ports"),
 ("ENDPOINT_SLICE_ENDPOINTS","api/discovery/v1/endpoint_slice.rs","endpoints"),
]
out = ["//! Column descriptions taken from the Kubernetes API field documentation (the text upstream's",
"//! `SwaggerDoc()` returns), extracted from the k8s-openapi 0.29 `v1_33` doc comments by",
"//! `tools/gen_descriptions.py`. Generated data: edit by regenerating, not by hand.",
"//!",
"//! kubectl never shows these, but clients that render `columnDefinitions` (dashboards, API",
"//! explorers) do, so we keep upstream's wording rather than inventing our own.",
""]
for name, path, field in specs:
    src = open(f"{root}/{path}").read().split("\n")
    idx = None
    for i,l in enumerate(src):
        if re.match(rf"\s*pub {re.escape(field)}:", l):
            idx = i; break
    if idx is None: sys.exit(f"missing {name}")
    doc = []
    j = idx-1
    while j >= 0 and src[j].strip().startswith("///"):
        doc.insert(0, src[j].strip()[3:].removeprefix(" ")); j -= 1
    text = re.sub(r"\\([\[\]*_<>`])", r"\1", "\n".join(doc))
    esc = text.replace("\\","\\\\").replace('"','\\"').replace("\n","\\n")
    out.append(f"pub(crate) const {name}: &str = \"{esc}\";")
print("\n".join(out))
