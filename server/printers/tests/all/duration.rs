//! `human_duration` against upstream `duration.HumanDuration`.

use chrono::Duration;
use wasmkube_printers::human_duration;

fn secs(n: i64) -> String {
    human_duration(Duration::seconds(n))
}

#[test]
fn seconds_up_to_two_minutes() {
    assert_eq!(secs(0), "0s");
    assert_eq!(secs(5), "5s");
    assert_eq!(secs(119), "119s");
}

#[test]
fn minutes_keep_seconds_below_ten_minutes() {
    assert_eq!(secs(120), "2m");
    assert_eq!(secs(182), "3m2s");
    assert_eq!(secs(9 * 60 + 59), "9m59s");
    assert_eq!(secs(10 * 60 + 59), "10m");
    assert_eq!(secs(3 * 3600 - 1), "179m");
}

#[test]
fn hours_keep_minutes_below_eight_hours() {
    assert_eq!(secs(3 * 3600), "3h");
    assert_eq!(secs(3 * 3600 + 5 * 60 + 7), "3h5m");
    assert_eq!(secs(8 * 3600 + 59 * 60), "8h");
    assert_eq!(secs(47 * 3600), "47h");
}

#[test]
fn days_and_years() {
    assert_eq!(secs(48 * 3600), "2d");
    assert_eq!(secs(51 * 3600), "2d3h");
    assert_eq!(secs(8 * 86_400 - 1), "7d23h");
    assert_eq!(secs(400 * 86_400), "400d");
    assert_eq!(secs(2 * 365 * 86_400), "2y");
    assert_eq!(secs(3 * 365 * 86_400 + 10 * 86_400), "3y10d");
    assert_eq!(secs(8 * 365 * 86_400 + 100 * 86_400), "8y");
}

#[test]
fn small_clock_skew_reads_as_now_and_larger_is_invalid() {
    assert_eq!(human_duration(Duration::milliseconds(-1_500)), "0s");
    assert_eq!(secs(-1), "0s");
    assert_eq!(secs(-2), "<invalid>");
    assert_eq!(secs(-3600), "<invalid>");
}

#[test]
fn fractions_truncate() {
    assert_eq!(human_duration(Duration::milliseconds(1_999)), "1s");
    assert_eq!(human_duration(Duration::milliseconds(182_900)), "3m2s");
}
