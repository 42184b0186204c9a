//! Terms that select other pods: inter-pod (anti-)affinity terms and topology spread
//! constraints, parsed once per pod with `matchLabelKeys` already folded into the selector.

use serde_json::{Map, Value, json};
use wasmkube_api::selector::LabelSelector;

/// Which namespaces a term looks in: the listed ones, plus those a selector matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceScope {
    pub names: Vec<String>,
    /// `Some(empty)` selects every namespace.
    pub selector: Option<LabelSelector>,
}

impl NamespaceScope {
    /// Upstream: neither names nor selector means the owning pod's own namespace.
    fn parse(term: &Value, own_namespace: &str) -> NamespaceScope {
        let mut names: Vec<String> = term
            .get("namespaces")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|n| n.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let selector = term
            .get("namespaceSelector")
            .filter(|s| !s.is_null())
            .map(|s| LabelSelector::from_json(s).unwrap_or_else(|_| never()));
        if names.is_empty() && selector.is_none() {
            names.push(own_namespace.to_string());
        }
        NamespaceScope { names, selector }
    }

    pub fn contains<'a>(&self, ns: &str, labels_of: impl Fn(&str) -> Option<&'a Map<String, Value>>) -> bool {
        self.names.iter().any(|n| n == ns)
            || self.selector.as_ref().is_some_and(|s| s.is_empty() || s.matches(labels_of(ns)))
    }
}

/// A selector that matches nothing, for invalid input (upstream refuses such objects at
/// validation; this only guards objects stored before that).
fn never() -> LabelSelector {
    LabelSelector::parse("wasmkube.invalid/never,!wasmkube.invalid/never").expect("static selector parses")
}

/// The `labelSelector` of a term, with `matchLabelKeys` (values must equal the pod's own) and
/// `mismatchLabelKeys` (must differ) folded in. A null selector matches nothing.
fn selector_with_keys(term: &Value, labels: &Map<String, Value>) -> Option<LabelSelector> {
    let base = term.get("labelSelector").filter(|s| !s.is_null())?;
    let mut sel = base.clone();
    for (list, op) in [("matchLabelKeys", "In"), ("mismatchLabelKeys", "NotIn")] {
        for key in term.get(list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            let Some(v) = labels.get(key).and_then(Value::as_str) else { continue };
            let expr = json!({"key": key, "operator": op, "values": [v]});
            match sel.get_mut("matchExpressions").and_then(Value::as_array_mut) {
                Some(exprs) => exprs.push(expr),
                None => sel["matchExpressions"] = json!([expr]),
            }
        }
    }
    Some(LabelSelector::from_json(&sel).unwrap_or_else(|_| never()))
}

/// One `PodAffinityTerm`.
#[derive(Debug, Clone, PartialEq)]
pub struct AffinityTerm {
    pub selector: Option<LabelSelector>,
    pub namespaces: NamespaceScope,
    pub topology_key: String,
}

impl AffinityTerm {
    pub fn parse(term: &Value, own_ns: &str, own_labels: &Map<String, Value>) -> AffinityTerm {
        AffinityTerm {
            selector: selector_with_keys(term, own_labels),
            namespaces: NamespaceScope::parse(term, own_ns),
            topology_key: term.get("topologyKey").and_then(Value::as_str).unwrap_or_default().to_string(),
        }
    }

    /// Whether a pod (by namespace and labels) is one this term is about.
    pub fn matches<'a>(
        &self,
        ns: &str,
        labels: &Map<String, Value>,
        ns_labels: impl Fn(&str) -> Option<&'a Map<String, Value>>,
    ) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(Some(labels)))
            && self.namespaces.contains(ns, ns_labels)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeightedTerm {
    pub weight: i64,
    pub term: AffinityTerm,
}

/// A pod's `podAffinity` and `podAntiAffinity`, required and preferred.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodAffinity {
    pub required: Vec<AffinityTerm>,
    pub preferred: Vec<WeightedTerm>,
    pub anti_required: Vec<AffinityTerm>,
    pub anti_preferred: Vec<WeightedTerm>,
}

impl PodAffinity {
    pub fn parse(affinity: Option<&Value>, ns: &str, labels: &Map<String, Value>) -> PodAffinity {
        let required = |block: &str| -> Vec<AffinityTerm> {
            let path = [block, "requiredDuringSchedulingIgnoredDuringExecution"];
            let terms = affinity.and_then(|a| super::at(a, &path)).and_then(Value::as_array);
            terms.into_iter().flatten().map(|t| AffinityTerm::parse(t, ns, labels)).collect()
        };
        let preferred = |block: &str| -> Vec<WeightedTerm> {
            let path = [block, "preferredDuringSchedulingIgnoredDuringExecution"];
            let terms = affinity.and_then(|a| super::at(a, &path)).and_then(Value::as_array);
            terms
                .into_iter()
                .flatten()
                .filter_map(|w| {
                    let term = AffinityTerm::parse(w.get("podAffinityTerm")?, ns, labels);
                    Some(WeightedTerm { weight: w.get("weight").and_then(Value::as_i64).unwrap_or(0), term })
                })
                .collect()
        };
        PodAffinity {
            required: required("podAffinity"),
            preferred: preferred("podAffinity"),
            anti_required: required("podAntiAffinity"),
            anti_preferred: preferred("podAntiAffinity"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.required.is_empty()
            && self.preferred.is_empty()
            && self.anti_required.is_empty()
            && self.anti_preferred.is_empty()
    }
}

/// One `topologySpreadConstraint`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadConstraint {
    pub max_skew: i64,
    pub topology_key: String,
    /// `DoNotSchedule` (a filter) rather than `ScheduleAnyway` (a score).
    pub hard: bool,
    pub selector: Option<LabelSelector>,
    pub min_domains: Option<i64>,
    /// `nodeAffinityPolicy: Honor` (the default): only nodes the pod may land on form domains.
    pub honor_affinity: bool,
    /// `nodeTaintsPolicy: Honor` (default Ignore): only nodes whose taints the pod tolerates.
    pub honor_taints: bool,
}

impl SpreadConstraint {
    pub fn parse_list(list: Option<&Value>, labels: &Map<String, Value>) -> Vec<SpreadConstraint> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| SpreadConstraint {
                max_skew: c.get("maxSkew").and_then(Value::as_i64).unwrap_or(1).max(1),
                topology_key: c.get("topologyKey").and_then(Value::as_str).unwrap_or_default().to_string(),
                hard: c.get("whenUnsatisfiable").and_then(Value::as_str) != Some("ScheduleAnyway"),
                selector: selector_with_keys(c, labels),
                min_domains: c.get("minDomains").and_then(Value::as_i64),
                honor_affinity: c.get("nodeAffinityPolicy").and_then(Value::as_str) != Some("Ignore"),
                honor_taints: c.get("nodeTaintsPolicy").and_then(Value::as_str) == Some("Honor"),
            })
            .collect()
    }

    pub fn selects(&self, labels: &Map<String, Value>) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(Some(labels)))
    }
}
