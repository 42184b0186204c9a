//! Events, in both API shapes: core/v1 and events.k8s.io/v1.
//!
//! Upstream serves both from one storage with one printer, converting events.k8s.io objects to
//! the core shape first. We read each shape through [`EventFields`], which names the JSON keys of
//! that shape, and then print both the same way.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::KindPrinter;
use super::common::{int, lower_kind_ref, name, text};
use crate::column::{Column, NAME};
use crate::descriptions::{
    EVENT_COUNT, EVENT_FIRST_TIMESTAMP, EVENT_INVOLVED_OBJECT, EVENT_LAST_TIMESTAMP, EVENT_MESSAGE,
    EVENT_REASON, EVENT_SOURCE, EVENT_TYPE, OBJECT_REFERENCE_FIELD_PATH,
};
use crate::duration::since;
use crate::field::Field;

const EVENT_COLUMNS: &[Column] = &[
    Column::string("Last Seen", EVENT_LAST_TIMESTAMP),
    Column::string("Type", EVENT_TYPE),
    Column::string("Reason", EVENT_REASON),
    Column::string("Object", EVENT_INVOLVED_OBJECT),
    Column::string("Subobject", OBJECT_REFERENCE_FIELD_PATH).wide(),
    Column::string("Source", EVENT_SOURCE).wide(),
    Column::string("Message", EVENT_MESSAGE),
    Column::string("First Seen", EVENT_FIRST_TIMESTAMP).wide(),
    Column::string("Count", EVENT_COUNT).wide(),
    NAME.wide(),
];

pub(crate) const CORE_EVENT: KindPrinter =
    KindPrinter { group: "", kind: "Event", columns: EVENT_COLUMNS, cells: core_event_cells };

pub(crate) const EVENTS_API_EVENT: KindPrinter = KindPrinter {
    group: "events.k8s.io",
    kind: "Event",
    columns: EVENT_COLUMNS,
    cells: events_api_event_cells,
};

fn core_event_cells(event: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(event, &CORE_SHAPE, now)
}

fn events_api_event_cells(event: Field<'_>, now: DateTime<Utc>) -> Vec<Value> {
    event_cells(event, &EVENTS_API_SHAPE, now)
}

/// JSON keys of the fields the printer reads, per API shape.
struct EventFields {
    involved_object: &'static str,
    message: &'static str,
    source: &'static str,
    first_timestamp: &'static str,
    last_timestamp: &'static str,
    count: &'static str,
    reporting_controller: &'static str,
}

const CORE_SHAPE: EventFields = EventFields {
    involved_object: "involvedObject",
    message: "message",
    source: "source",
    first_timestamp: "firstTimestamp",
    last_timestamp: "lastTimestamp",
    count: "count",
    reporting_controller: "reportingComponent",
};

const EVENTS_API_SHAPE: EventFields = EventFields {
    involved_object: "regarding",
    message: "note",
    source: "deprecatedSource",
    first_timestamp: "deprecatedFirstTimestamp",
    last_timestamp: "deprecatedLastTimestamp",
    count: "deprecatedCount",
    reporting_controller: "reportingController",
};

fn event_cells(event: Field<'_>, keys: &EventFields, now: DateTime<Utc>) -> Vec<Value> {
    let (last_seen, first_seen, times) = seen(event, keys, now);
    let object = event.get(keys.involved_object);
    let target = lower_kind_ref(
        object.get("kind").str().unwrap_or_default(),
        object.get("name").str().unwrap_or_default(),
    );
    vec![
        text(last_seen),
        text(event.get("type").string()),
        text(event.get("reason").string()),
        text(target),
        text(object.get("fieldPath").string()),
        text(source(event, keys)),
        text(event.get(keys.message).str().unwrap_or_default().trim()),
        text(first_seen),
        int(times),
        name(event),
    ]
}

/// `(last seen, first seen, count)`, preferring a series when the event has one.
///
/// Events from the newer API may carry only `eventTime`, and singleton events have no count;
/// upstream falls back in that order and counts a singleton as 1.
fn seen(event: Field<'_>, keys: &EventFields, now: DateTime<Utc>) -> (String, String, i64) {
    let first_timestamp = event.get(keys.first_timestamp);
    let first_seen = if first_timestamp.time().is_some() {
        since(first_timestamp, now)
    } else {
        since(event.get("eventTime"), now)
    };
    let last_timestamp = event.get(keys.last_timestamp);
    let mut last_seen =
        if last_timestamp.time().is_some() { since(last_timestamp, now) } else { first_seen.clone() };
    let mut times = event.get(keys.count).int_or_zero();
    let series = event.get("series");
    if series.is_object() {
        last_seen = since(series.get("lastObservedTime"), now);
        times = series.get("count").int_or_zero();
    } else if times == 0 {
        times = 1;
    }
    (last_seen, first_seen, times)
}

/// `component, host`, taking the reporting controller and instance when the source is empty.
fn source(event: Field<'_>, keys: &EventFields) -> String {
    let source = event.get(keys.source);
    let component = source
        .get("component")
        .non_empty()
        .or_else(|| event.get(keys.reporting_controller).str())
        .unwrap_or_default();
    let host =
        source.get("host").non_empty().or_else(|| event.get("reportingInstance").str()).unwrap_or_default();
    if host.is_empty() { component.to_owned() } else { format!("{component}, {host}") }
}
