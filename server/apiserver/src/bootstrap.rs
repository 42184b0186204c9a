//! What every cluster has from its first start: the system namespaces and the `kubernetes`
//! Service that points at this API server. Runs at every start, so a
//! restart on another port updates the Service's target.

use crate::service::{Api, PatchType, WriteOptions, update::Part};
use serde_json::{Value, json};
use wasmkube_api::registry::find;
use wasmkube_api::status::ApiError;

/// Create `obj`, or merge-patch `refresh` into the existing one.
async fn ensure(
    api: &Api,
    plural: &str,
    ns: &str,
    obj: Value,
    refresh: Option<Value>,
) -> Result<(), ApiError> {
    let def = find("", "v1", plural).expect("core resources are served");
    let opts = WriteOptions { field_manager: Some("wasmkube-bootstrap".into()), ..Default::default() };
    match api.create(def, ns, obj.clone(), &opts).await {
        Ok(_) => Ok(()),
        Err(e) if e.reason == "AlreadyExists" => match refresh {
            Some(patch) => {
                let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
                api.patch(def, ns, name, PatchType::Merge, &patch, Part::Main, false, &opts).await.map(drop)
            }
            None => Ok(()),
        },
        Err(e) => Err(e),
    }
}

pub async fn ensure_defaults(api: &Api, api_port: u16) -> Result<(), ApiError> {
    for ns in crate::service::SYSTEM_NAMESPACES {
        ensure(api, "namespaces", "", json!({"metadata": {"name": ns}}), None).await?;
    }
    let ports = json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": api_port}]);
    // The first address of the service CIDR belongs to `kubernetes` (10.96.0.1 by default).
    let ip = api.service_cidr().nth(1).to_string();
    let svc = json!({
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                 "ports": ports, "sessionAffinity": "None"},
    });
    ensure(api, "services", "default", svc, Some(json!({"spec": {"ports": ports}}))).await
    // No Endpoints yet: the API listens on loopback only (until it has authentication), and
    // upstream validation rightly refuses loopback endpoint addresses. They arrive with the
    // pod network, which can route the Service to the API server.
}
