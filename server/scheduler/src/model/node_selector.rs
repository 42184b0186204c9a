//! Node selector terms (`nodeAffinity`), parsed once per pod and matched against a node's
//! labels and name.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// One `NodeSelectorRequirement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    fn parse(v: &Value) -> Option<Requirement> {
        let op = match v.get("operator")?.as_str()? {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            "Gt" => Operator::Gt,
            "Lt" => Operator::Lt,
            _ => return None,
        };
        let values = v
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default();
        Some(Requirement { key: v.get("key")?.as_str()?.to_string(), op, values })
    }

    /// Whether a value (`None`: the label is absent) satisfies the requirement.
    pub fn matches(&self, got: Option<&str>) -> bool {
        let int = |s: &str| s.parse::<i64>().ok();
        let bound = || self.values.first().and_then(|v| int(v));
        match self.op {
            Operator::In => got.is_some_and(|g| self.values.iter().any(|v| v == g)),
            Operator::NotIn => got.is_none_or(|g| !self.values.iter().any(|v| v == g)),
            Operator::Exists => got.is_some(),
            Operator::DoesNotExist => got.is_none(),
            Operator::Gt => matches!((got.and_then(int), bound()), (Some(g), Some(b)) if g > b),
            Operator::Lt => matches!((got.and_then(int), bound()), (Some(g), Some(b)) if g < b),
        }
    }
}

/// One `NodeSelectorTerm`: every expression and every field requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Term {
    pub expressions: Vec<Requirement>,
    /// `matchFields`; upstream supports only `metadata.name`.
    pub fields: Vec<Requirement>,
    /// A term with an invalid requirement matches nothing (upstream rejects it the same way).
    pub invalid: bool,
}

impl Term {
    pub fn parse(v: &Value) -> Term {
        let mut term = Term::default();
        for (list, out) in [("matchExpressions", &mut term.expressions), ("matchFields", &mut term.fields)] {
            for r in v.get(list).and_then(Value::as_array).into_iter().flatten() {
                match Requirement::parse(r) {
                    Some(req) => out.push(req),
                    None => term.invalid = true,
                }
            }
        }
        if term.fields.iter().any(|f| f.key != "metadata.name") {
            term.invalid = true;
        }
        term
    }

    /// An empty term matches no node, as upstream's `NodeSelectorRequirementsAsSelector` does.
    pub fn matches(&self, name: &str, labels: &Map<String, Value>) -> bool {
        if self.invalid || (self.expressions.is_empty() && self.fields.is_empty()) {
            return false;
        }
        self.expressions.iter().all(|r| r.matches(labels.get(&r.key).and_then(Value::as_str)))
            && self.fields.iter().all(|r| r.matches(Some(name)))
    }
}

/// `requiredDuringSchedulingIgnoredDuringExecution`: the terms are ORed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeSelector {
    pub terms: Vec<Term>,
}

impl NodeSelector {
    pub fn parse(v: &Value) -> NodeSelector {
        let terms = v.get("nodeSelectorTerms").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        NodeSelector { terms: terms.iter().map(Term::parse).collect() }
    }

    pub fn matches(&self, name: &str, labels: &Map<String, Value>) -> bool {
        self.terms.iter().any(|t| t.matches(name, labels))
    }
}

/// A preferred term and its weight (1-100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferred {
    pub weight: i64,
    pub term: Term,
}

pub fn parse_preferred(list: Option<&Value>) -> Vec<Preferred> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let weight = p.get("weight").and_then(Value::as_i64).unwrap_or(0);
            let term = Term::parse(p.get("preference")?);
            (weight != 0).then_some(Preferred { weight, term })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_operator() {
        let l = labels(json!({"zone": "a", "gen": "5"}));
        let check = |expr: Value| Term::parse(&json!({"matchExpressions": [expr]})).matches("n1", &l);
        assert!(check(json!({"key": "zone", "operator": "In", "values": ["a", "b"]})));
        assert!(!check(json!({"key": "zone", "operator": "NotIn", "values": ["a"]})));
        assert!(check(json!({"key": "missing", "operator": "NotIn", "values": ["a"]})));
        assert!(check(json!({"key": "zone", "operator": "Exists"})));
        assert!(check(json!({"key": "missing", "operator": "DoesNotExist"})));
        assert!(check(json!({"key": "gen", "operator": "Gt", "values": ["4"]})));
        assert!(!check(json!({"key": "gen", "operator": "Lt", "values": ["5"]})));
        assert!(!check(json!({"key": "zone", "operator": "Gt", "values": ["1"]})));
        assert!(!check(json!({"key": "zone", "operator": "Bogus"})));
    }

    #[test]
    fn terms_are_ored_requirements_anded_and_fields_name_the_node() {
        let sel = NodeSelector::parse(&json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                  {"key": "disk", "operator": "Exists"}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]},
        ]}));
        assert!(sel.matches("n1", &labels(json!({"zone": "a", "disk": "ssd"}))));
        assert!(!sel.matches("n1", &labels(json!({"zone": "a"}))));
        assert!(sel.matches("n2", &labels(json!({}))));
        assert!(!NodeSelector::parse(&json!({"nodeSelectorTerms": [{}]})).matches("n1", &labels(json!({}))));
    }
}
