//! Label selectors: validation (`ValidateLabelSelector`) and matching
//! (`LabelSelectorAsSelector(...).Matches(...)`), which workloads use to
//! check that their template carries the labels they select on. The
//! requirement check also serves node selectors (`validate/scheduling.rs`).

use serde_json::Value;

use crate::error::FieldError;
use crate::json::{arr, obj, s, strings};
use crate::meta::validate_labels;
use crate::names::{label_value, qualified_name};
use crate::path::Path;

/// Validates a `metav1.LabelSelector` at `path` (label values in
/// expressions are checked, as upstream does for new objects).
pub fn validate(selector: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = validate_labels(selector.get("matchLabels"), &path.child("matchLabels"));
    for (i, expr) in arr(selector, "matchExpressions").iter().enumerate() {
        let expr_path = path.child("matchExpressions").index(i);
        errs.extend(validate_requirement(expr, Operators::Label, true, &expr_path));
    }
    errs
}

/// The operators a selector requirement may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operators {
    /// A `metav1.LabelSelector`: `In`, `NotIn`, `Exists`, `DoesNotExist`.
    Label,
    /// A `NodeSelectorRequirement`: those plus `Gt` and `Lt`, which take a single value.
    Node,
}

/// `ValidateLabelSelectorRequirement`, or `ValidateNodeSelectorRequirement`
/// for [`Operators::Node`]; label values are checked when `check_values`.
pub fn validate_requirement(
    expr: &Value,
    operators: Operators,
    check_values: bool,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let op = s(expr, "operator");
    let values = strings(expr, "values");
    let node = operators == Operators::Node;
    match op {
        "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
            path.child("values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::forbidden(
            path.child("values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        "Gt" | "Lt" if node && values.len() != 1 => errs.push(FieldError::required(
            path.child("values"),
            "must be specified single value when `operator` is 'Lt' or 'Gt'",
        )),
        "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
        "Gt" | "Lt" if node => {}
        _ => errs.push(FieldError::invalid(path.child("operator"), op, "not a valid selector operator")),
    }
    let key = s(expr, "key");
    for m in qualified_name(key) {
        errs.push(FieldError::invalid(path.child("key"), key, &m));
    }
    if check_values {
        for (i, v) in values.iter().enumerate() {
            for m in label_value(v) {
                errs.push(FieldError::invalid(path.child("values").index(i), v.as_str(), &m));
            }
        }
    }
    errs
}

/// A parsed selector, mirroring `labels.Selector` semantics.
#[derive(Debug, Clone)]
pub enum Selector {
    /// `labels.Nothing()`: what upstream gets for a nil selector; matches nothing
    /// and is not "empty".
    Nothing,
    /// Requirements that must all hold; no requirements means "everything".
    Requirements(Vec<Requirement>),
}

/// One requirement of a selector.
#[derive(Debug, Clone)]
pub struct Requirement {
    key: String,
    op: String,
    values: Vec<String>,
}

impl Selector {
    /// `LabelSelectorAsSelector`: `None` (an upstream error) when the selector
    /// is malformed; a missing selector is `Nothing`.
    pub fn parse(selector: Option<&Value>) -> Option<Selector> {
        let Some(sel) = selector.filter(|v| !v.is_null()) else {
            return Some(Selector::Nothing);
        };
        let mut reqs = Vec::new();
        if let Some(labels) = obj(sel, "matchLabels") {
            for (k, v) in labels {
                let v = v.as_str()?.to_owned();
                reqs.push(Requirement { key: k.clone(), op: "In".into(), values: vec![v] });
            }
        }
        for e in arr(sel, "matchExpressions") {
            let op = s(e, "operator").to_owned();
            let values = strings(e, "values");
            let ok = match op.as_str() {
                "In" | "NotIn" => !values.is_empty(),
                "Exists" | "DoesNotExist" => values.is_empty(),
                _ => false,
            };
            if !ok {
                return None;
            }
            reqs.push(Requirement { key: s(e, "key").to_owned(), op, values });
        }
        let valid = reqs
            .iter()
            .all(|r| qualified_name(&r.key).is_empty() && r.values.iter().all(|v| label_value(v).is_empty()));
        valid.then_some(Selector::Requirements(reqs))
    }

    /// `Selector.Empty()`: true only for a selector without requirements.
    pub fn is_empty(&self) -> bool {
        matches!(self, Selector::Requirements(r) if r.is_empty())
    }

    /// `Selector.Matches(labels)`.
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        let Selector::Requirements(reqs) = self else {
            return false;
        };
        reqs.iter().all(|r| {
            let value = labels.iter().find(|(k, _)| *k == r.key).map(|(_, v)| v);
            match (r.op.as_str(), value) {
                ("In", Some(v)) => r.values.contains(v),
                ("NotIn", Some(v)) => !r.values.contains(v),
                ("NotIn", None) | ("DoesNotExist", None) | ("Exists", Some(_)) => true,
                _ => false,
            }
        })
    }
}

/// Whether a selector value has neither `matchLabels` nor `matchExpressions`.
pub fn has_no_terms(selector: &Value) -> bool {
    obj(selector, "matchLabels").is_none_or(|m| m.is_empty()) && arr(selector, "matchExpressions").is_empty()
}
