//! `ValidatePodSpec`, `ValidatePodTemplateSpec`, and the Pod and PodTemplate
//! kinds (including `ValidatePodUpdate`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, boolean, get, int, int0, s};
use crate::meta::{validate_annotations, validate_labels};
use crate::names::{dns1123_label, dns1123_subdomain, range_error};
use crate::path::Path;

use super::container::{PodContext, validate_containers, validate_init_containers};
use super::scheduling::{affinity, dns_config, tolerations, topology_spread};
use super::volume::validate_volumes;

const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];

/// `ValidatePodSpec`; `is_pod` selects the Pod-only rules.
pub fn validate_pod_spec(spec: &Value, is_pod: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if get(spec, "terminationGracePeriodSeconds").is_none() {
        errs.push(FieldError::required(path.child("terminationGracePeriodSeconds"), ""));
    }
    let (volumes, vol_errs) = validate_volumes(arr(spec, "volumes"), &path.child("volumes"));
    errs.extend(vol_errs);
    let ctx =
        PodContext { volumes: &volumes, grace_period: int(spec, "terminationGracePeriodSeconds"), is_pod };
    let containers = arr(spec, "containers");
    errs.extend(validate_containers(containers, &ctx, &path.child("containers")));
    errs.extend(validate_init_containers(
        arr(spec, "initContainers"),
        containers,
        &ctx,
        &path.child("initContainers"),
    ));
    errs.extend(host_network_ports(spec, is_pod, path));
    errs.extend(enum_field(spec, "restartPolicy", &RESTART_POLICIES, path));
    errs.extend(enum_field(spec, "dnsPolicy", &DNS_POLICIES, path));
    errs.extend(validate_labels(spec.get("nodeSelector"), &path.child("nodeSelector")));
    if let Some(sc) = get(spec, "securityContext") {
        errs.extend(pod_security_context(sc, &path.child("securityContext")));
    }
    if let Some(a) = get(spec, "affinity") {
        errs.extend(affinity(a, &path.child("affinity")));
    }
    errs.extend(dns_config(spec, &path.child("dnsConfig")));
    errs.extend(gates(spec, path));
    errs.extend(topology_spread(
        arr(spec, "topologySpreadConstraints"),
        &path.child("topologySpreadConstraints"),
    ));
    errs.extend(names_and_bounds(spec, path));
    errs.extend(tolerations(arr(spec, "tolerations"), &path.child("tolerations")));
    errs.extend(host_aliases(spec, path));
    errs.extend(optional_enums(spec, path));
    errs
}

/// A required enum field: `Required` when empty, `NotSupported` when unknown.
fn enum_field(spec: &Value, key: &str, allowed: &[&str], path: &Path) -> Option<FieldError> {
    match s(spec, key) {
        "" => Some(FieldError::required(path.child(key), "")),
        v if !allowed.contains(&v) => Some(FieldError::not_supported(path.child(key), v, allowed)),
        _ => None,
    }
}

/// `validatePodHostNetworkDeps`.
fn host_network_ports(spec: &Value, is_pod: bool, path: &Path) -> Vec<FieldError> {
    if boolean(spec, "hostNetwork") != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    for (i, c) in arr(spec, "containers").iter().enumerate() {
        for (j, port) in arr(c, "ports").iter().enumerate() {
            let (hp, cp) = (int0(port, "hostPort"), int0(port, "containerPort"));
            if (is_pod || hp != 0) && hp != cp {
                let p = path.child("containers").index(i).child("ports").index(j).child("hostPort");
                errs.push(FieldError::invalid(
                    p,
                    hp,
                    "must match `containerPort` when `hostNetwork` is true",
                ));
            }
        }
    }
    errs
}

/// The ID ranges and policies of `validatePodSpecSecurityContext`.
fn pod_security_context(sc: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["fsGroup", "runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, key)
            && !(0..=i64::from(i32::MAX)).contains(&id)
        {
            errs.push(FieldError::invalid(path.child(key), id, &range_error(0, i32::MAX.into())));
        }
    }
    if let Some(policy) = get(sc, "fsGroupChangePolicy").and_then(Value::as_str) {
        let allowed = ["Always", "OnRootMismatch"];
        if !allowed.contains(&policy) {
            errs.push(FieldError::not_supported(path.child("fsGroupChangePolicy"), policy, &allowed));
        }
    }
    if let Some(profile) = get(sc, "seccompProfile") {
        let allowed = ["Localhost", "RuntimeDefault", "Unconfined"];
        match s(profile, "type") {
            "" => errs.push(FieldError::required(
                path.child("seccompProfile").child("type"),
                "type is required when seccompProfile is set",
            )),
            t if !allowed.contains(&t) => {
                errs.push(FieldError::not_supported(path.child("seccompProfile").child("type"), t, &allowed));
            }
            _ => {}
        }
    }
    errs
}

fn gates(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, g) in arr(spec, "readinessGates").iter().enumerate() {
        let t = s(g, "conditionType");
        let p = path.child("readinessGates").index(i).child("conditionType");
        errs.extend(crate::names::qualified_name(t).into_iter().map(|m| FieldError::invalid(&p, t, &m)));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, g) in arr(spec, "schedulingGates").iter().enumerate() {
        let name = s(g, "name");
        let p = path.child("schedulingGates").index(i);
        errs.extend(
            crate::names::qualified_name(name).into_iter().map(|m| FieldError::invalid(&p, name, &m)),
        );
        if !seen.insert(name) {
            errs.push(FieldError::duplicate(&p, name));
        }
    }
    errs
}

/// Name-like fields and `activeDeadlineSeconds`.
fn names_and_bounds(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let subdomains = ["serviceAccountName", "nodeName"];
    for key in subdomains {
        let v = s(spec, key);
        if !v.is_empty() {
            errs.extend(
                dns1123_subdomain(v).into_iter().map(|m| FieldError::invalid(path.child(key), v, &m)),
            );
        }
    }
    if let Some(ads) = int(spec, "activeDeadlineSeconds")
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.push(FieldError::invalid(
            path.child("activeDeadlineSeconds"),
            ads,
            &range_error(1, i32::MAX.into()),
        ));
    }
    for key in ["hostname", "subdomain"] {
        let v = s(spec, key);
        if !v.is_empty() {
            errs.extend(dns1123_label(v).into_iter().map(|m| FieldError::invalid(path.child(key), v, &m)));
        }
    }
    for key in ["priorityClassName", "runtimeClassName"] {
        if let Some(v) = get(spec, key).and_then(Value::as_str)
            && (key == "runtimeClassName" || !v.is_empty())
        {
            errs.extend(
                dns1123_subdomain(v).into_iter().map(|m| FieldError::invalid(path.child(key), v, &m)),
            );
        }
    }
    errs
}

fn host_aliases(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, alias) in arr(spec, "hostAliases").iter().enumerate() {
        let p = path.child("hostAliases").index(i);
        let ip = s(alias, "ip");
        if !crate::names::is_ip(ip) {
            errs.push(FieldError::invalid(p.child("ip"), ip, crate::names::IP_MSG));
        }
        for (j, host) in crate::json::strings(alias, "hostnames").iter().enumerate() {
            let hp = p.child("hostnames").index(j);
            errs.extend(
                dns1123_subdomain(host).into_iter().map(|m| FieldError::invalid(&hp, host.as_str(), &m)),
            );
        }
    }
    errs
}

fn optional_enums(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(p) = get(spec, "preemptionPolicy").and_then(Value::as_str) {
        let allowed = ["PreemptLowerPriority", "Never"];
        if p.is_empty() {
            errs.push(FieldError::required(path.child("preemptionPolicy"), ""));
        } else if !allowed.contains(&p) {
            errs.push(FieldError::not_supported(path.child("preemptionPolicy"), p, &allowed));
        }
    }
    if let Some(os) = get(spec, "os") {
        let name = s(os, "name");
        if name.is_empty() {
            errs.push(FieldError::required(path.child("os").child("name"), ""));
        } else if name != "linux" && name != "windows" {
            errs.push(FieldError::not_supported(path.child("os").child("name"), name, &["linux", "windows"]));
        }
    }
    if let Some(overhead) = get(spec, "overhead") {
        let res = serde_json::json!({ "limits": overhead });
        errs.extend(super::resources::container_requirements(&res, &path.child("overhead")));
    }
    errs
}

/// `ValidatePodTemplateSpec`: template labels/annotations and the pod spec.
pub fn validate_template_spec(template: &Value, path: &Path) -> Vec<FieldError> {
    let meta = get(template, "metadata").cloned().unwrap_or(Value::Null);
    let mut errs = validate_labels(meta.get("labels"), &path.child("labels"));
    errs.extend(validate_annotations(meta.get("annotations"), &path.child("annotations")));
    let spec = get(template, "spec").cloned().unwrap_or(Value::Null);
    errs.extend(validate_pod_spec(&spec, false, &path.child("spec")));
    if !arr(&spec, "ephemeralContainers").is_empty() {
        let p = path.child("spec").child("ephemeralContainers");
        errs.push(FieldError::forbidden(p, "ephemeral containers not allowed in pod template"));
    }
    errs
}

/// The PodTemplate kind.
pub fn validate_pod_template(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let template = get(obj, "template").cloned().unwrap_or(Value::Null);
    validate_template_spec(&template, &Path::new("template"))
}

/// The Pod kind: `ValidatePodCreate` or `ValidatePodUpdate`.
pub fn validate_pod(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = get(obj, "spec").cloned().unwrap_or(Value::Null);
    let path = Path::new("spec");
    let mut errs = validate_pod_spec(&spec, true, &path);
    match old {
        None => {
            if !arr(&spec, "ephemeralContainers").is_empty() {
                errs.push(FieldError::forbidden(
                    path.child("ephemeralContainers"),
                    "cannot be set on create",
                ));
            }
            if !s(&spec, "nodeName").is_empty() && !arr(&spec, "schedulingGates").is_empty() {
                let detail = "cannot be set until all schedulingGates have been cleared";
                errs.push(FieldError::forbidden(path.child("nodeName"), detail));
            }
        }
        Some(old) => {
            let old_spec = get(old, "spec").cloned().unwrap_or(Value::Null);
            errs.extend(super::pod_update::validate_pod_update(&spec, &old_spec, &path));
        }
    }
    errs
}
