//! Human-readable ages, as upstream's `duration.HumanDuration` writes them.
//!
//! Every AGE, LAST SEEN and DURATION cell goes through here, so kubectl users see `3m2s`, `2d3h`
//! and `400d` exactly where a real cluster would print them.

use chrono::{DateTime, Duration, Utc};

use crate::field::Field;

/// Formats `d` with two or three significant figures, the way `kubectl get` shows ages.
///
/// Clock skew of up to two seconds into the future reads as `0s`; anything further ahead is
/// `<invalid>`, as upstream prints it.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.num_minutes();
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.num_hours();
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return with_remainder(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = hours / 24;
        return with_remainder(days / 365, "y", days % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

/// `"3m"` when the smaller unit is zero, `"3m2s"` otherwise.
fn with_remainder(major: i64, major_unit: &str, minor: i64, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

/// Time elapsed since the timestamp at `field`, or `<unknown>` when it is unset (upstream's
/// `translateTimestampSince`, which treats the zero time the same way).
pub(crate) fn since(field: Field<'_>, now: DateTime<Utc>) -> String {
    field.time().map_or_else(|| "<unknown>".to_owned(), |t| human_duration(now - t))
}

/// The AGE cell: time since `metadata.creationTimestamp`.
pub(crate) fn age(obj: Field<'_>, now: DateTime<Utc>) -> String {
    since(obj.path(&["metadata", "creationTimestamp"]), now)
}
