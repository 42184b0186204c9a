//! Containers: `validateContainerCommon`, `validateContainers`,
//! `validateInitContainers` and their probes, ports and mounts.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, boolean, get, int, int0, s};
use crate::names::{dns1123_label, port_name, port_num};
use crate::path::Path;

use super::env::{validate_env, validate_env_from};
use super::probe::{validate_lifecycle, validate_probe};
use super::resources::container_requirements;
use super::volume::{VolumeKinds, local_descending_path};

/// The sorted protocol list upstream prints in `NotSupported` errors.
pub const PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

/// What container validation needs from the enclosing pod spec.
pub struct PodContext<'a> {
    /// Names of the volumes that validated, with their kind.
    pub volumes: &'a VolumeKinds,
    /// `terminationGracePeriodSeconds`, bounding `sleep` handlers.
    pub grace_period: Option<i64>,
    /// Whether the spec belongs to a Pod (not a template).
    pub is_pod: bool,
}

/// `validateContainers`: the regular containers of a pod spec.
pub fn validate_containers(containers: &[Value], ctx: &PodContext, path: &Path) -> Vec<FieldError> {
    if containers.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = path.index(i);
        errs.extend(container_common(c, ctx, &p));
        let name = s(c, "name");
        if !names.insert(name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        }
        if let Some(lc) = get(c, "lifecycle") {
            errs.extend(validate_lifecycle(lc, ctx.grace_period, &p.child("lifecycle")));
        }
        errs.extend(probes(c, &p));
        if get(c, "restartPolicy").is_some() {
            errs.push(FieldError::forbidden(
                p.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    errs.extend(host_port_conflicts(containers, path));
    errs
}

fn probes(c: &Value, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = get(c, key) {
            errs.extend(validate_probe(probe, key, &p.child(key)));
        }
    }
    errs
}

/// `validateInitContainers`: names must also be unique against `regular`.
pub fn validate_init_containers(
    init: &[Value],
    regular: &[Value],
    ctx: &PodContext,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: HashSet<&str> = regular.iter().map(|c| s(c, "name")).collect();
    for (i, c) in init.iter().enumerate() {
        let p = path.index(i);
        errs.extend(container_common(c, ctx, &p));
        let mut restart_always = false;
        if let Some(policy) = get(c, "restartPolicy") {
            let policy = policy.as_str().unwrap_or_default();
            restart_always = policy == "Always";
            if !restart_always {
                errs.push(FieldError::not_supported(p.child("restartPolicy"), policy, &["Always"]));
            }
        }
        let name = s(c, "name");
        if names.contains(name) {
            errs.push(FieldError::duplicate(p.child("name"), name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        errs.extend(host_port_conflicts(std::slice::from_ref(c), path));
        if restart_always {
            if let Some(lc) = get(c, "lifecycle") {
                errs.extend(validate_lifecycle(lc, ctx.grace_period, &p.child("lifecycle")));
            }
            errs.extend(probes(c, &p));
        } else {
            for key in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
                if get(c, key).is_some() {
                    let detail = "may not be set for init containers without restartPolicy=Always";
                    errs.push(FieldError::forbidden(p.child(key), detail));
                }
            }
        }
    }
    errs
}

/// `validateContainerCommon` (plus the Pod-only image whitespace rule).
fn container_common(c: &Value, ctx: &PodContext, p: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = s(c, "name");
    if name.is_empty() {
        errs.push(FieldError::required(p.child("name"), ""));
    } else {
        errs.extend(dns1123_label(name).into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)));
    }
    let image = s(c, "image");
    if image.is_empty() {
        errs.push(FieldError::required(p.child("image"), ""));
    } else if ctx.is_pod && image.trim() != image {
        errs.push(FieldError::invalid(
            p.child("image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
    match s(c, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(p.child("terminationMessagePolicy"), "")),
        other => errs.push(FieldError::not_supported(
            p.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_ports(arr(c, "ports"), &p.child("ports")));
    errs.extend(validate_env(arr(c, "env"), &p.child("env")));
    errs.extend(validate_env_from(arr(c, "envFrom"), &p.child("envFrom")));
    errs.extend(volume_mounts(c, ctx.volumes, &p.child("volumeMounts")));
    match s(c, "imagePullPolicy") {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(p.child("imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            p.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(res) = get(c, "resources") {
        errs.extend(container_requirements(res, &p.child("resources")));
    }
    if let Some(sc) = get(c, "securityContext") {
        errs.extend(security_context(sc, &p.child("securityContext")));
    }
    errs
}

/// `validateContainerPorts`.
fn validate_ports(ports: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = path.index(i);
        let name = s(port, "name");
        if !name.is_empty() {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| FieldError::invalid(p.child("name"), name, &m)));
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(p.child("name"), name));
            }
        }
        match int0(port, "containerPort") {
            0 => errs.push(FieldError::required(p.child("containerPort"), "")),
            cp => errs.extend(
                port_num(cp).into_iter().map(|m| FieldError::invalid(p.child("containerPort"), cp, &m)),
            ),
        }
        let hp = int0(port, "hostPort");
        if hp != 0 {
            errs.extend(port_num(hp).into_iter().map(|m| FieldError::invalid(p.child("hostPort"), hp, &m)));
        }
        match s(port, "protocol") {
            "" => errs.push(FieldError::required(p.child("protocol"), "")),
            proto if !PROTOCOLS.contains(&proto) => {
                errs.push(FieldError::not_supported(p.child("protocol"), proto, &PROTOCOLS));
            }
            _ => {}
        }
    }
    errs
}

/// `AccumulateUniqueHostPorts`: `protocol/hostIP/hostPort` must be unique.
fn host_port_conflicts(containers: &[Value], path: &Path) -> Vec<FieldError> {
    let mut seen = HashSet::new();
    let mut errs = Vec::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in arr(c, "ports").iter().enumerate() {
            let hp = int0(port, "hostPort");
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{hp}", s(port, "protocol"), s(port, "hostIP"));
            if !seen.insert(key.clone()) {
                let p = path.index(ci).child("ports").index(pi).child("hostPort");
                errs.push(FieldError::duplicate(p, key));
            }
        }
    }
    errs
}

/// `ValidateVolumeMounts` (block devices are not supported by wasmkube and
/// only checked for a name).
fn volume_mounts(c: &Value, volumes: &VolumeKinds, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut mount_points = HashSet::new();
    let privileged = get(c, "securityContext").and_then(|sc| boolean(sc, "privileged")) == Some(true);
    for (i, m) in arr(c, "volumeMounts").iter().enumerate() {
        let p = path.index(i);
        let name = s(m, "name");
        if name.is_empty() {
            errs.push(FieldError::required(p.child("name"), ""));
        }
        if !volumes.contains_key(name) {
            errs.push(FieldError::not_found(p.child("name"), name));
        }
        let mount_path = s(m, "mountPath");
        if mount_path.is_empty() {
            errs.push(FieldError::required(p.child("mountPath"), ""));
        }
        if !mount_points.insert(mount_path) {
            errs.push(FieldError::invalid(p.child("mountPath"), mount_path, "must be unique"));
        }
        let sub = s(m, "subPath");
        if !sub.is_empty() {
            errs.extend(local_descending_path(sub, &path.child("subPath")));
        }
        let expr = s(m, "subPathExpr");
        if !expr.is_empty() {
            if !sub.is_empty() {
                errs.push(FieldError::invalid(
                    p.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            errs.extend(local_descending_path(expr, &path.child("subPathExpr")));
        }
        errs.extend(mount_propagation(m, privileged, &path.child("mountPropagation")));
    }
    errs
}

fn mount_propagation(m: &Value, privileged: bool, path: &Path) -> Vec<FieldError> {
    let Some(mode) = get(m, "mountPropagation").and_then(Value::as_str) else {
        return Vec::new();
    };
    let supported = ["Bidirectional", "HostToContainer", "None"];
    let mut errs = Vec::new();
    if !supported.contains(&mode) {
        errs.push(FieldError::not_supported(path, mode, &supported));
    }
    if mode == "Bidirectional" && !privileged {
        let detail = "Bidirectional mount propagation is available only to privileged containers";
        errs.push(FieldError::forbidden(path, detail));
    }
    errs
}

/// The parts of `ValidateSecurityContext` that apply to wasmkube.
fn security_context(sc: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for key in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(sc, key)
            && !(0..=i64::from(i32::MAX)).contains(&id)
        {
            errs.push(FieldError::invalid(
                path.child(key),
                id,
                &crate::names::range_error(0, i32::MAX.into()),
            ));
        }
    }
    let no_escalation = boolean(sc, "allowPrivilegeEscalation") == Some(false);
    if no_escalation && boolean(sc, "privileged") == Some(true) {
        let detail = "cannot set `allowPrivilegeEscalation` to false and `privileged` to true";
        errs.push(FieldError::invalid(path, sc.clone(), detail));
    }
    errs
}
