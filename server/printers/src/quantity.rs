//! Quantity cells (`1Gi`, `500m`) in upstream's canonical spelling.
//!
//! Upstream prints capacities, quota usage and HPA targets with `Quantity.String()`, which
//! re-spells the parsed value (`1000m` prints as `1`). Our store keeps whatever the client sent,
//! so we print [`Quantity`]'s canonical text to show what a real cluster would; anything it cannot
//! parse is shown as stored rather than failing the table.

use serde_json::Value;
use wasmkube_api::quantity::Quantity;

use crate::field::Field;

/// The canonical text of the quantity at `field`, or `None` when it is unset.
pub(crate) fn quantity(field: Field<'_>) -> Option<String> {
    let raw = match field.value()? {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    Some(Quantity::parse(&raw).map_or(raw, |q| q.to_string()))
}

/// Like [`quantity`], with an unset quantity printed as its zero value `0`.
pub(crate) fn quantity_or_zero(field: Field<'_>) -> String {
    quantity(field).unwrap_or_else(|| "0".to_owned())
}

/// Like [`quantity`], with an unset quantity printed as `<nil>`: upstream calls `String()` on a
/// nil `*Quantity` there, which yields that text.
pub(crate) fn quantity_or_nil(field: Field<'_>) -> String {
    quantity(field).unwrap_or_else(|| "<nil>".to_owned())
}
