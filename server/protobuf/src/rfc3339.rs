//! RFC 3339 timestamps as Go's metav1.Time and MicroTime print them (always UTC, "Z").
//! Hand-written because a date library would be the crate's heaviest dependency for two
//! format strings.

const SECONDS_PER_DAY: i64 = 86_400;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// `2006-01-02T15:04:05Z`.
pub(crate) fn format_seconds(unix_seconds: i64) -> String {
    let t = Civil::from_unix(unix_seconds);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// `2006-01-02T15:04:05.000000Z`. Nanoseconds outside 0..1e9 carry into the seconds, as in
/// Go's `time.Unix`.
pub(crate) fn format_micros(unix_seconds: i64, nanos: i32) -> String {
    let nanos = i64::from(nanos);
    let seconds = unix_seconds.saturating_add(nanos.div_euclid(NANOS_PER_SECOND));
    let micros = nanos.rem_euclid(NANOS_PER_SECOND) / 1_000;
    let t = Civil::from_unix(seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// A UTC date and time in the proleptic Gregorian calendar.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Civil {
    /// Splits Unix seconds into a calendar date by counting 400-year eras (146,097 days each)
    /// from 0000-03-01, so leap days fall at the end of each counted year.
    fn from_unix(unix_seconds: i64) -> Self {
        let days = unix_seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = unix_seconds.rem_euclid(SECONDS_PER_DAY);
        // Days from 0000-03-01 to 1970-01-01.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: second_of_day / 3_600,
            minute: second_of_day % 3_600 / 60,
            second: second_of_day % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(format_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_seconds(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_seconds(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(format_seconds(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_seconds(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn micros_truncate_and_carry() {
        assert_eq!(format_micros(0, 999_999), "1970-01-01T00:00:00.000999Z");
        assert_eq!(format_micros(0, 1_500_000_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(format_micros(0, -1_000), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn extreme_seconds_do_not_panic() {
        let _ = format_seconds(i64::MAX);
        let _ = format_seconds(i64::MIN);
        let _ = format_micros(i64::MAX, i32::MAX);
        let _ = format_micros(i64::MIN, i32::MIN);
    }
}
