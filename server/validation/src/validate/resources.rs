//! Resource names and quantities (`validateResourceRequirements`,
//! `ValidateResourceQuantityValue`, the resource-name helpers).

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::error::FieldError;
use crate::json::obj;
use crate::names::qualified_name;
use crate::path::Path;

/// The resources of upstream's `standardQuotaResources` that are amounts (cpu, memory,
/// storage); the rest of that set are the object counts below.
const QUOTA_AMOUNT_RESOURCES: [&str; 10] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// Upstream's `integerResources`: object counts, which must be whole numbers.
const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "services",
    "replicationcontrollers",
    "resourcequotas",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// `IsNativeResource`: unprefixed or in the `kubernetes.io` domain.
pub fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

/// `IsHugePageResourceName`.
pub fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

/// `IsExtendedResourceName`: a domain-prefixed, non-native resource.
pub fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with("requests.")
        && qualified_name(&format!("requests.{name}")).is_empty()
}

/// `IsOvercommitAllowed`: extended resources and hugepages cannot overcommit.
pub fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// `IsStandardQuotaResourceName`.
pub fn is_standard_quota(name: &str) -> bool {
    QUOTA_AMOUNT_RESOURCES.contains(&name)
        || INTEGER_RESOURCES.contains(&name)
        || name.starts_with("hugepages-")
        || name.starts_with("requests.hugepages-")
}

/// `IsStandardResourceName`: upstream's `standardResources` are the quota ones plus `storage`.
fn is_standard(name: &str) -> bool {
    name == "storage" || is_standard_quota(name)
}

fn is_integer_resource(name: &str) -> bool {
    INTEGER_RESOURCES.contains(&name) || is_extended(name)
}

/// `validateResourceName`.
pub fn resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let errs: Vec<FieldError> =
        qualified_name(name).into_iter().map(|m| FieldError::invalid(path, name, &m)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') && !is_standard(name) {
        return vec![FieldError::invalid(path, name, "must be a standard resource type or fully qualified")];
    }
    Vec::new()
}

/// `validateContainerResourceName`.
pub fn container_resource_name(name: &str, path: &Path) -> Vec<FieldError> {
    let mut errs = resource_name(name, path);
    let standard_for_containers =
        matches!(name, "cpu" | "memory" | "ephemeral-storage") || is_hugepages(name);
    if !name.contains('/') {
        if !standard_for_containers {
            errs.push(FieldError::invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

/// `ValidateResourceQuantityValue`: non-negative, integral for countable resources.
pub fn quantity_value(name: &str, raw: &Value, path: &Path) -> Vec<FieldError> {
    let Some(q) = Quantity::from_json(raw) else {
        let text = raw.as_str().map_or_else(|| raw.to_string(), str::to_owned);
        return vec![FieldError::invalid(path, text, "must be a valid resource quantity")];
    };
    let mut errs = Vec::new();
    if q.is_negative() {
        errs.push(FieldError::invalid(path, q.to_string(), crate::NEGATIVE_MSG));
    }
    if is_integer_resource(name) && !q.is_integer() {
        errs.push(FieldError::invalid_stringer(path, q, "must be an integer"));
    }
    errs
}

/// `ValidateContainerResourceRequirements`.
pub fn container_requirements(res: &Value, path: &Path) -> Vec<FieldError> {
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let empty = serde_json::Map::new();
    let limits = obj(res, "limits").unwrap_or(&empty);
    let requests = obj(res, "requests").unwrap_or(&empty);
    let mut errs = Vec::new();
    let (mut cpu_or_memory, mut hugepages) = (false, false);
    for (name, raw) in limits {
        let p = lim_path.key(name);
        errs.extend(container_resource_name(name, &p));
        errs.extend(quantity_value(name, raw, &p));
        hugepages |= is_hugepages(name);
        cpu_or_memory |= name == "cpu" || name == "memory";
    }
    for (name, raw) in requests {
        let p = req_path.key(name);
        errs.extend(container_resource_name(name, &p));
        errs.extend(quantity_value(name, raw, &p));
        errs.extend(request_vs_limit(name, raw, limits.get(name), &lim_path, &req_path));
        hugepages |= is_hugepages(name);
        cpu_or_memory |= name == "cpu" || name == "memory";
    }
    if hugepages && !cpu_or_memory {
        errs.push(FieldError::forbidden(path, "HugePages require cpu or memory"));
    }
    errs
}

fn request_vs_limit(
    name: &str,
    raw: &Value,
    limit: Option<&Value>,
    lim_path: &Path,
    req_path: &Path,
) -> Option<FieldError> {
    let Some(limit) = limit else {
        return (!overcommit_allowed(name))
            .then(|| FieldError::required(lim_path, "Limit must be set for non overcommitable resources"));
    };
    let (req, lim) = (Quantity::from_json(raw)?, Quantity::from_json(limit)?);
    if req != lim && !overcommit_allowed(name) {
        let detail = format!("must be equal to {name} limit of {lim}");
        Some(FieldError::invalid(req_path, req.to_string(), &detail))
    } else if req > lim {
        let detail = format!("must be less than or equal to {name} limit of {lim}");
        Some(FieldError::invalid(req_path, req.to_string(), &detail))
    } else {
        None
    }
}
