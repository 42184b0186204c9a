//! HorizontalPodAutoscalers, in the autoscaling/v1 and v2 shapes.
//!
//! Upstream prints the internal (v2-like) object, converting a v1 object's single CPU target
//! into one `Resource` metric first. We read whichever shape was stored: `spec.metrics` marks v2,
//! otherwise the v1 `targetCPUUtilizationPercentage` fields are used.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{age, int, name, text};
use crate::column::{AGE, Column, NAME};
use crate::descriptions::{
    HPA_SPEC_MAX_REPLICAS, HPA_SPEC_METRICS, HPA_SPEC_MIN_REPLICAS, HPA_SPEC_SCALE_TARGET_REF,
    HPA_STATUS_CURRENT_REPLICAS,
};
use crate::field::Field;
use crate::quantity::{quantity, quantity_or_nil};

/// Upstream shows at most this many metrics, then `+ N more...`.
const METRIC_LIMIT: usize = 2;

pub(crate) const HORIZONTAL_POD_AUTOSCALER: KindPrinter = KindPrinter {
    group: "autoscaling",
    kind: "HorizontalPodAutoscaler",
    columns: &[
        NAME,
        Column::string("Reference", HPA_SPEC_SCALE_TARGET_REF),
        Column::string("Targets", HPA_SPEC_METRICS),
        Column::string("MinPods", HPA_SPEC_MIN_REPLICAS),
        Column::string("MaxPods", HPA_SPEC_MAX_REPLICAS),
        Column::string("Replicas", HPA_STATUS_CURRENT_REPLICAS),
        AGE,
    ],
    cells: hpa_cells,
};

fn hpa_cells(hpa: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    let spec = hpa.get("spec");
    let target = spec.get("scaleTargetRef");
    let reference = format!("{}/{}", target.get("kind").string(), target.get("name").string());
    let targets = if spec.get("metrics").is_set() {
        v2_targets(spec.get("metrics"), hpa.path(&["status", "currentMetrics"]))
    } else {
        v1_target(hpa)
    };
    // The API server defaults minReplicas to 1 in both versions.
    let min_pods = spec.get("minReplicas").int().unwrap_or(1);
    vec![
        name(hpa),
        text(reference),
        text(targets),
        text(min_pods.to_string()),
        int(spec.get("maxReplicas").int_or_zero()),
        int(hpa.path(&["status", "currentReplicas"]).int_or_zero()),
        age(hpa, now),
    ]
}

/// autoscaling/v1: `cpu: 40%/80%`, or `<none>` without a CPU target.
fn v1_target(hpa: Field<'_>) -> String {
    let Some(target) = hpa.path(&["spec", "targetCPUUtilizationPercentage"]).int() else {
        return "<none>".to_owned();
    };
    let current = hpa.path(&["status", "currentCPUUtilizationPercentage"]).int();
    let current = current.map_or_else(|| "<unknown>".to_owned(), |c| format!("{c}%"));
    format!("cpu: {current}/{target}%")
}

/// autoscaling/v2: one `current/target` entry per metric; statuses pair with specs by position.
fn v2_targets(specs: Field<'_>, statuses: Field<'_>) -> String {
    if specs.array_len() == 0 {
        return "<none>".to_owned();
    }
    let statuses: Vec<Field<'_>> = statuses.items().collect();
    let entries: Vec<String> = specs
        .items()
        .enumerate()
        .map(|(index, spec)| metric_entry(spec, statuses.get(index).copied()))
        .collect();
    if entries.len() > METRIC_LIMIT {
        let more = entries.len() - METRIC_LIMIT;
        return format!("{} + {more} more...", entries[..METRIC_LIMIT].join(", "));
    }
    entries.join(", ")
}

fn metric_entry(spec: Field<'_>, status: Option<Field<'_>>) -> String {
    let source_status = |key: &str| status.map(|s| s.get(key)).filter(|s| s.is_object());
    match spec.get("type").str().unwrap_or_default() {
        "External" => value_metric(spec.get("external"), source_status("external")),
        "Object" => value_metric(spec.get("object"), source_status("object")),
        "Pods" => {
            let current = source_status("pods").map_or_else(
                || "<unknown>".to_owned(),
                |s| quantity_or_nil(s.path(&["current", "averageValue"])),
            );
            let target = quantity_or_nil(spec.path(&["pods", "target", "averageValue"]));
            format!("{current}/{target}")
        }
        "Resource" => resource_metric(spec.get("resource"), source_status("resource")),
        "ContainerResource" => {
            resource_metric(spec.get("containerResource"), source_status("containerResource"))
        }
        _ => "<unknown type>".to_owned(),
    }
}

/// External and Object metrics: an average value target, else a plain value target.
fn value_metric(source: Field<'_>, status: Option<Field<'_>>) -> String {
    let target = source.get("target");
    if let Some(average) = quantity(target.get("averageValue")) {
        let current = status
            .and_then(|s| quantity(s.path(&["current", "averageValue"])))
            .unwrap_or_else(|| "<unknown>".to_owned());
        return format!("{current}/{average} (avg)");
    }
    let current =
        status.map_or_else(|| "<unknown>".to_owned(), |s| quantity_or_nil(s.path(&["current", "value"])));
    format!("{current}/{}", quantity_or_nil(target.get("value")))
}

/// Resource and ContainerResource metrics: `cpu: 40%/80%` or `memory: 100Mi/200Mi`.
fn resource_metric(source: Field<'_>, status: Option<Field<'_>>) -> String {
    let resource = source.get("name").string();
    let target = source.get("target");
    if let Some(average) = quantity(target.get("averageValue")) {
        let current = status.map_or_else(
            || "<unknown>".to_owned(),
            |s| quantity_or_nil(s.path(&["current", "averageValue"])),
        );
        return format!("{resource}: {current}/{average}");
    }
    let current = status
        .and_then(|s| s.path(&["current", "averageUtilization"]).int())
        .map_or_else(|| "<unknown>".to_owned(), |c| format!("{c}%"));
    let goal =
        target.get("averageUtilization").int().map_or_else(|| "<auto>".to_owned(), |t| format!("{t}%"));
    format!("{resource}: {current}/{goal}")
}
