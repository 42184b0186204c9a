//! Cron schedules as CronJobs accept them (robfig/cron v3 `ParseStandard`): five fields with
//! ranges, steps, lists and names, the `@yearly`..`@hourly` descriptors, and `@every <duration>`.
//! Day of month and day of week combine as cron does: if both are restricted, either matches.

use super::zone::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};

const STAR: u64 = 1 << 63;
const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Schedule {
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
    },
    /// `@every`: a fixed delay (whole seconds, at least one).
    Every(Duration),
}

fn bits(lo: u32, hi: u32, step: u32) -> u64 {
    (lo..=hi).step_by(step.max(1) as usize).fold(0, |b, i| b | (1 << i))
}

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + offset);
    }
    s.parse::<u32>().map_err(|_| format!("failed to parse int from {s}"))
}

/// One comma-separated part of a field: `*`, `?`, `a`, `a-b`, each with an optional `/step`.
fn range(expr: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let (body, step) = match expr.split_once('/') {
        Some((b, s)) => (b, Some(s.parse::<u32>().map_err(|_| format!("failed to parse int from {s}"))?)),
        None => (expr, None),
    };
    let offset = if names.len() == 12 { 1 } else { 0 };
    let (lo, hi, mut extra) = if body == "*" || body == "?" {
        (min, max, STAR)
    } else if let Some((a, b)) = body.split_once('-') {
        (value(a, names, offset)?, value(b, names, offset)?, 0)
    } else {
        let v = value(body, names, offset)?;
        (v, if step.is_some() { max } else { v }, 0)
    };
    if step.is_some_and(|s| s > 1) {
        extra = 0;
    }
    if lo < min {
        return Err(format!("beginning of range ({lo}) below minimum ({min}): {expr}"));
    }
    if hi > max {
        return Err(format!("end of range ({hi}) above maximum ({max}): {expr}"));
    }
    if lo > hi {
        return Err(format!("beginning of range ({lo}) beyond end of range ({hi}): {expr}"));
    }
    if step == Some(0) {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(bits(lo, hi, step.unwrap_or(1)) | extra)
}

fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    text.split(',').try_fold(0, |acc, e| Ok(acc | range(e, min, max, names)?))
}

/// Go's `time.ParseDuration` for the units people use with `@every` (h, m, s, ms).
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[unit_len..];
    }
    Some(Duration::seconds((total.floor() as i64).max(1)))
}

pub(crate) fn parse(spec: &str) -> Result<Schedule, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let standard = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        _ if spec.starts_with("@every ") => {
            let d = &spec["@every ".len()..];
            return go_duration(d)
                .map(Schedule::Every)
                .ok_or_else(|| format!("failed to parse duration {spec}"));
        }
        _ if spec.starts_with('@') => return Err(format!("unrecognized descriptor: {spec}")),
        other => other,
    };
    let f: Vec<&str> = standard.split_whitespace().collect();
    if f.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", f.len(), f.join(" ")));
    }
    Ok(Schedule::Fields {
        minute: field(f[0], 0, 59, &[])?,
        hour: field(f[1], 0, 23, &[])?,
        dom: field(f[2], 1, 31, &[])?,
        month: field(f[3], 1, 12, MONTHS)?,
        dow: field(f[4], 0, 6, DAYS)?,
    })
}

fn has(b: u64, i: u32) -> bool {
    b & (1 << i) != 0
}

fn day_matches(dom: u64, dow: u64, t: NaiveDateTime) -> bool {
    let d = has(dom, t.day());
    let w = has(dow, t.weekday().num_days_from_sunday());
    if dom & STAR != 0 || dow & STAR != 0 { d && w } else { d || w }
}

/// The first wall-clock minute after `after` that matches (within five years).
fn next_local(s: &Schedule, after: NaiveDateTime) -> Option<NaiveDateTime> {
    let Schedule::Fields { minute, hour, dom, month, dow } = *s else { return None };
    let mut t = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
    let limit = t.year() + 5;
    'wrap: loop {
        if t.year() > limit {
            return None;
        }
        while !has(month, t.month()) {
            let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
            t = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
            if m == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(dom, dow, t) {
            t = (t.date() + Duration::days(1)).and_hms_opt(0, 0, 0)?;
            if t.day() == 1 {
                continue 'wrap;
            }
        }
        while !has(hour, t.hour()) {
            t = t.with_minute(0)? + Duration::hours(1);
            if t.hour() == 0 {
                continue 'wrap;
            }
        }
        while !has(minute, t.minute()) {
            t += Duration::minutes(1);
            if t.minute() == 0 {
                continue 'wrap;
            }
        }
        return Some(t);
    }
}

impl Schedule {
    /// The next activation strictly after `after`, in `zone`'s wall clock. A wall-clock time
    /// that does not exist (a DST gap) is skipped; one that occurs twice runs the first time.
    pub fn next(&self, after: DateTime<Utc>, zone: &Zone) -> Option<DateTime<Utc>> {
        if let Schedule::Every(d) = self {
            let whole = after.with_nanosecond(0)?;
            return Some(whole + *d);
        }
        let mut local = zone.local(after);
        for _ in 0..10_000 {
            let candidate = next_local(self, local)?;
            match zone.utc(candidate) {
                Some(t) if t > after => return Some(t),
                _ => local = candidate,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(spec: &str, after: &str) -> String {
        let t = parse(spec).unwrap().next(at(after), &Zone::Fixed(0)).unwrap();
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        assert_eq!(next("*/15 * * * *", "2024-01-01T10:07:30Z"), "2024-01-01T10:15:00Z");
        assert_eq!(next("0 9-17/4 * * *", "2024-01-01T10:00:00Z"), "2024-01-01T13:00:00Z");
        assert_eq!(next("5,35 * * * *", "2024-01-01T10:35:00Z"), "2024-01-01T11:05:00Z");
        assert_eq!(next("0 0 * * MON", "2024-01-03T00:00:00Z"), "2024-01-08T00:00:00Z");
        assert_eq!(next("0 0 1 jan-mar/2 *", "2024-02-10T00:00:00Z"), "2024-03-01T00:00:00Z");
        assert_eq!(next("30 8 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T08:30:00Z");
        assert_eq!(next("@hourly", "2024-12-31T23:59:00Z"), "2025-01-01T00:00:00Z");
        assert_eq!(next("@weekly", "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z");
        assert_eq!(next("@every 90s", "2024-01-01T00:00:00.5Z"), "2024-01-01T00:01:30Z");
    }

    #[test]
    fn day_of_month_and_week_or_together_unless_one_is_a_star() {
        // The 13th, or any Friday.
        assert_eq!(next("0 0 13 * 5", "2024-09-01T00:00:00Z"), "2024-09-06T00:00:00Z");
        // Only Fridays that are the 13th.
        assert_eq!(next("0 0 13 * *", "2024-09-01T00:00:00Z"), "2024-09-13T00:00:00Z");
        assert_eq!(next("0 0 * * 5", "2024-09-07T00:00:00Z"), "2024-09-13T00:00:00Z");
    }

    #[test]
    fn errors_read_like_upstreams() {
        assert_eq!(parse("* * *").unwrap_err(), "expected exactly 5 fields, found 3: [* * *]");
        assert_eq!(parse("60 * * * *").unwrap_err(), "end of range (60) above maximum (59): 60");
        assert_eq!(parse("* * * * 7").unwrap_err(), "end of range (7) above maximum (6): 7");
        assert_eq!(parse("@fortnightly").unwrap_err(), "unrecognized descriptor: @fortnightly");
        assert!(parse("31 2 30 2 *").unwrap().next(at("2024-01-01T00:00:00Z"), &Zone::Fixed(0)).is_none());
    }

    #[test]
    fn schedules_follow_the_zones_wall_clock() {
        // 09:00 at UTC+05:30 is 03:30 UTC.
        let t = parse("0 9 * * *").unwrap().next(at("2024-01-01T00:00:00Z"), &Zone::Fixed(19_800)).unwrap();
        assert_eq!(t, at("2024-01-01T03:30:00Z"));
    }
}
