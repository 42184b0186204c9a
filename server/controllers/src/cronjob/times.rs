//! When a CronJob is due (upstream `mostRecentScheduleTime`, `nextScheduleTime`,
//! `nextScheduleTimeDuration`), on the clock the controller is given.

use super::schedule::Schedule;
use super::zone::Zone;
use chrono::{DateTime, Duration, Utc};

/// How many start times were missed since the last one (upstream warns beyond 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missed {
    None,
    Few,
    Many,
}

pub(crate) struct Due {
    /// The start time everything is counted from (last schedule, creation, or deadline).
    pub earliest: DateTime<Utc>,
    /// The latest start time not after `now`, if any.
    pub recent: Option<DateTime<Utc>>,
    pub missed: Missed,
}

/// The most recent unmet start time between `earliest` (raised to `now - deadline` when a
/// starting deadline applies) and `now`.
pub(crate) fn most_recent(
    s: &Schedule,
    zone: &Zone,
    mut earliest: DateTime<Utc>,
    now: DateTime<Utc>,
    deadline: Option<i64>,
) -> Result<Due, String> {
    if let Some(secs) = deadline {
        earliest = earliest.max(now - Duration::seconds(secs));
    }
    let none = |earliest| Ok(Due { earliest, recent: None, missed: Missed::None });
    let Some(t1) = s.next(earliest, zone) else { return none(earliest) };
    if now < t1 {
        return none(earliest);
    }
    let Some(t2) = s.next(t1, zone) else {
        return Ok(Due { earliest, recent: Some(t1), missed: Missed::None });
    };
    if now < t2 {
        return Ok(Due { earliest, recent: Some(t1), missed: Missed::None });
    }
    // Roughly how many periods fit since t1, then walk to the exact latest start time.
    let between = ((t2 - t1).num_milliseconds() as f64 / 1000.0).round() as i64;
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    let count = (now - t1).num_seconds() / between + 1;
    let missed = if count > 100 {
        Missed::Many
    } else if count > 1 {
        Missed::Few
    } else {
        Missed::None
    };
    let mut recent = DateTime::from_timestamp(t1.timestamp() + (count - 1) * between, 0).unwrap_or(t1);
    while let Some(t) = s.next(recent, zone).filter(|t| *t <= now) {
        recent = t;
    }
    Ok(Due { earliest, recent: Some(recent), missed })
}

/// When to look at the CronJob next: just after its next start time.
pub(crate) fn next_wake(
    s: &Schedule,
    zone: &Zone,
    earliest: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let due = most_recent(s, zone, earliest, now, None).ok()?;
    let next = match due.recent {
        Some(r) => s.next(r, zone),
        None => s.next(due.earliest, zone),
    }?;
    Some(next.max(now) + Duration::milliseconds(100))
}

/// Upstream's job name: `<cronjob>-<scheduled time in minutes since the epoch>`.
pub(crate) fn job_name(cronjob: &str, scheduled: DateTime<Utc>) -> String {
    format!("{cronjob}-{}", scheduled.timestamp().div_euclid(60))
}

#[cfg(test)]
mod tests {
    use super::super::schedule::parse;
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_latest_missed_start_is_the_one_to_run() {
        let s = parse("*/10 * * * *").unwrap();
        let z = Zone::Fixed(0);
        let due = most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-01T00:05:00Z"), None).unwrap();
        assert_eq!(due.recent, None);
        let due = most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-01T00:10:00Z"), None).unwrap();
        assert_eq!((due.recent, due.missed), (Some(at("2024-01-01T00:10:00Z")), Missed::None));
        let due = most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-01T00:45:00Z"), None).unwrap();
        assert_eq!((due.recent, due.missed), (Some(at("2024-01-01T00:40:00Z")), Missed::Few));
        let due = most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-03T00:00:00Z"), None).unwrap();
        assert_eq!((due.recent, due.missed), (Some(at("2024-01-03T00:00:00Z")), Missed::Many));
    }

    #[test]
    fn a_starting_deadline_forgets_older_misses() {
        let s = parse("0 * * * *").unwrap();
        let z = Zone::Fixed(0);
        let due =
            most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-05T00:30:00Z"), Some(600)).unwrap();
        assert_eq!(due.recent, None, "the last start (00:00) is older than the deadline");
        let due =
            most_recent(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-05T00:05:00Z"), Some(600)).unwrap();
        assert_eq!((due.recent, due.missed), (Some(at("2024-01-05T00:00:00Z")), Missed::None));
    }

    #[test]
    fn wake_ups_and_names() {
        let s = parse("*/5 * * * *").unwrap();
        let z = Zone::Fixed(0);
        let wake = next_wake(&s, &z, at("2024-01-01T00:00:00Z"), at("2024-01-01T00:07:00Z")).unwrap();
        assert_eq!(wake, at("2024-01-01T00:10:00.1Z"));
        assert_eq!(job_name("backup", at("2024-01-01T00:10:00Z")), "backup-28401130");
    }
}
