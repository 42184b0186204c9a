//! Time zones for `spec.timeZone`, read like Go's `time.LoadLocation`: the IANA database in
//! the system's zoneinfo directory (TZif files, with the POSIX TZ rule at their end for times
//! after the last listed transition). `UTC` and `Etc/UTC` need no files.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use std::path::Path;

const ZONEINFO: &str = "/usr/share/zoneinfo";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Zone {
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    Tz {
        transitions: Vec<(i64, i32)>,
        initial: i32,
        rule: Option<Rule>,
    },
}

/// A POSIX TZ rule (`CET-1CEST,M3.5.0,M10.5.0/3`), offsets east of UTC in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    std: i32,
    dst: Option<(i32, RuleDay, i32, RuleDay, i32)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuleDay {
    /// `Jn`: day 1..365, never counting February 29.
    Julian1(u32),
    /// `n`: day 0..365, counting February 29.
    Julian0(u32),
    /// `Mm.w.d`: weekday d (0 = Sunday) of week w (5 = last) of month m.
    Month(u32, u32, u32),
}

impl Zone {
    /// Load `name` as Go's `time.LoadLocation` would.
    pub fn load(name: &str) -> Result<Zone, String> {
        if name.is_empty() || name == "UTC" || name == "Etc/UTC" {
            return Ok(Zone::Fixed(0));
        }
        let valid = name.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c));
        if !valid {
            return Err("invalid time zone name".into());
        }
        let bytes = std::fs::read(Path::new(ZONEINFO).join(name))
            .map_err(|_| "unknown time zone ".to_string() + name)?;
        parse_tzif(&bytes).ok_or_else(|| format!("malformed time zone information for {name}"))
    }

    /// The offset east of UTC in effect at `utc` (seconds since the epoch).
    pub fn offset_at(&self, utc: i64) -> i32 {
        match self {
            Zone::Fixed(o) => *o,
            Zone::Tz { transitions, initial, rule } => {
                let i = transitions.partition_point(|(t, _)| *t <= utc);
                match (i, rule) {
                    (n, Some(r)) if n == transitions.len() => r.offset_at(utc),
                    (0, _) => *initial,
                    (n, _) => transitions[n - 1].1,
                }
            }
        }
    }

    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc() + Duration::seconds(i64::from(self.offset_at(t.timestamp())))
    }

    /// The earliest instant whose wall-clock time here is `local`; None in a DST gap.
    pub fn utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let naive = local.and_utc().timestamp();
        let mut offsets: Vec<i32> = [-86_400, 0, 86_400].iter().map(|d| self.offset_at(naive + d)).collect();
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets.dedup();
        offsets
            .into_iter()
            .find(|o| self.offset_at(naive - i64::from(*o)) == *o)
            .and_then(|o| DateTime::from_timestamp(naive - i64::from(o), 0))
    }

    /// `t` in RFC 3339 with this zone's offset (`Z` for UTC), as Go formats it.
    pub fn rfc3339(&self, t: DateTime<Utc>) -> String {
        let offset = self.offset_at(t.timestamp());
        let local = self.local(t).format("%Y-%m-%dT%H:%M:%S");
        if offset == 0 {
            return format!("{local}Z");
        }
        let (sign, abs) = if offset < 0 { ('-', -offset) } else { ('+', offset) };
        format!("{local}{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
    }
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?)))
}

/// TZif version 2+ (64-bit section); version 1 files use the 32-bit data.
fn parse_tzif(b: &[u8]) -> Option<Zone> {
    if b.get(..4)? != b"TZif" {
        return None;
    }
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, slot) in c.iter_mut().enumerate() {
            *slot = usize::try_from(be32(b, at + 20 + 4 * i)?).ok()?;
        }
        Some(c)
    };
    let v1 = counts(0)?;
    let size = |c: [usize; 6], t: usize| c[3] * t + c[3] + c[4] * 6 + c[5] + c[2] * (t + 4) + c[1] + c[0];
    let (start, c, tsize) = if b[4] >= b'2' {
        let second = 44 + size(v1, 4);
        (second + 44, counts(second)?, 8)
    } else {
        (44, v1, 4)
    };
    let [_, _, _, timecnt, typecnt, _] = c;
    let time = |i: usize| -> Option<i64> {
        let at = start + i * tsize;
        if tsize == 8 { Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?)) } else { be32(b, at) }
    };
    let idx_at = start + timecnt * tsize;
    let types_at = idx_at + timecnt;
    let ttype = |i: usize| -> Option<(i32, bool)> {
        let at = types_at + i * 6;
        Some((i32::try_from(be32(b, at)?).ok()?, *b.get(at + 4)? != 0))
    };
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let ty = usize::from(*b.get(idx_at + i)?);
        transitions.push((time(i)?, ttype(ty)?.0));
    }
    let initial = (0..typecnt).filter_map(ttype).find(|(_, dst)| !dst).or_else(|| ttype(0))?.0;
    let footer = if tsize == 8 {
        let rest = b.get(start + size(c, 8)..)?;
        let text = std::str::from_utf8(rest).ok()?.trim_matches('\n');
        (!text.is_empty()).then(|| parse_rule(text)).flatten()
    } else {
        None
    };
    Some(Zone::Tz { transitions, initial, rule: footer })
}

struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    fn name(&mut self) -> Option<()> {
        let end = if self.0.starts_with('<') {
            self.0.find('>')? + 1
        } else {
            self.0.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(self.0.len())
        };
        (end > 0).then(|| self.0 = &self.0[end..])
    }

    /// `[+-]h[:mm[:ss]]` in seconds.
    fn time(&mut self) -> Option<i32> {
        let sign = if let Some(r) = self.0.strip_prefix('-') {
            self.0 = r;
            -1
        } else {
            self.0 = self.0.strip_prefix('+').unwrap_or(self.0);
            1
        };
        let end = self.0.find(|c: char| !(c.is_ascii_digit() || c == ':')).unwrap_or(self.0.len());
        let mut secs = 0;
        for (i, part) in self.0[..end].split(':').enumerate() {
            secs += part.parse::<i32>().ok()? * [3600, 60, 1].get(i)?;
        }
        self.0 = &self.0[end..];
        Some(sign * secs)
    }

    fn day(&mut self) -> Option<(RuleDay, i32)> {
        let end = self.0.find([',', '/']).unwrap_or(self.0.len());
        let spec = &self.0[..end];
        self.0 = &self.0[end..];
        let day = if let Some(m) = spec.strip_prefix('M') {
            let p: Vec<u32> = m.split('.').map(str::parse).collect::<Result<_, _>>().ok()?;
            RuleDay::Month(*p.first()?, *p.get(1)?, *p.get(2)?)
        } else if let Some(j) = spec.strip_prefix('J') {
            RuleDay::Julian1(j.parse().ok()?)
        } else {
            RuleDay::Julian0(spec.parse().ok()?)
        };
        let time = match self.0.strip_prefix('/') {
            Some(r) => {
                self.0 = r;
                self.time()?
            }
            None => 7200,
        };
        Some((day, time))
    }
}

fn parse_rule(text: &str) -> Option<Rule> {
    let mut c = Cursor(text);
    c.name()?;
    let std = -c.time()?;
    if c.0.is_empty() {
        return Some(Rule { std, dst: None });
    }
    c.name()?;
    let dst = if c.0.starts_with(',') { std + 3600 } else { -c.time()? };
    c.0 = c.0.strip_prefix(',')?;
    let (start, start_time) = c.day()?;
    c.0 = c.0.strip_prefix(',')?;
    let (end, end_time) = c.day()?;
    Some(Rule { std, dst: Some((dst, start, start_time, end, end_time)) })
}

fn day_of_year(day: RuleDay, year: i32) -> Option<NaiveDate> {
    let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
    match day {
        RuleDay::Julian1(n) => {
            let n = if leap && n >= 60 { n + 1 } else { n };
            NaiveDate::from_yo_opt(year, n)
        }
        RuleDay::Julian0(n) => NaiveDate::from_yo_opt(year, n + 1),
        RuleDay::Month(m, w, d) => {
            let first = NaiveDate::from_ymd_opt(year, m, 1)?;
            let offset = (d + 7 - first.weekday().num_days_from_sunday()) % 7;
            let mut date = first + Duration::days(i64::from(offset + (w - 1) * 7));
            while date.month() != m {
                date -= Duration::days(7);
            }
            Some(date)
        }
    }
}

impl Rule {
    fn offset_at(&self, utc: i64) -> i32 {
        let Some((dst, start, start_time, end, end_time)) = self.dst else { return self.std };
        let Some(year) = DateTime::from_timestamp(utc + i64::from(self.std), 0).map(|t| t.year()) else {
            return self.std;
        };
        let at = |d: RuleDay, time: i32, offset: i32| {
            day_of_year(d, year)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc().timestamp() + i64::from(time - offset))
        };
        let (Some(s), Some(e)) = (at(start, start_time, self.std), at(end, end_time, dst)) else {
            return self.std;
        };
        let in_dst = if s < e { utc >= s && utc < e } else { !(utc >= e && utc < s) };
        if in_dst { dst } else { self.std }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn posix_rules_switch_on_the_right_days() {
        let cet =
            Zone::Tz { transitions: vec![], initial: 3600, rule: parse_rule("CET-1CEST,M3.5.0,M10.5.0/3") };
        // 2024: CEST from 31 March 01:00 UTC to 27 October 01:00 UTC.
        assert_eq!(cet.offset_at(at("2024-03-31T00:59:59Z")), 3600);
        assert_eq!(cet.offset_at(at("2024-03-31T01:00:00Z")), 7200);
        assert_eq!(cet.offset_at(at("2024-10-27T00:59:59Z")), 7200);
        assert_eq!(cet.offset_at(at("2024-10-27T01:00:00Z")), 3600);
        let sydney = Zone::Tz {
            transitions: vec![],
            initial: 36000,
            rule: parse_rule("AEST-10AEDT,M10.1.0,M4.1.0/3"),
        };
        assert_eq!(sydney.offset_at(at("2024-01-15T00:00:00Z")), 39600);
        assert_eq!(sydney.offset_at(at("2024-07-15T00:00:00Z")), 36000);
        let india = Zone::Tz { transitions: vec![], initial: 0, rule: parse_rule("<+0530>-5:30") };
        assert_eq!(india.offset_at(0), 19_800);
    }

    #[test]
    fn wall_clock_gaps_have_no_instant_and_overlaps_take_the_first() {
        let ny =
            Zone::Tz { transitions: vec![], initial: -18000, rule: parse_rule("EST5EDT,M3.2.0,M11.1.0") };
        let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(ny.utc(local("2024-03-10 02:30")), None);
        assert_eq!(ny.utc(local("2024-11-03 01:30")).unwrap().timestamp(), at("2024-11-03T05:30:00Z"));
        assert_eq!(
            ny.rfc3339(DateTime::from_timestamp(at("2024-07-01T12:00:00Z"), 0).unwrap()),
            "2024-07-01T08:00:00-04:00"
        );
    }

    #[test]
    fn system_zones_load_when_present() {
        assert_eq!(Zone::load("UTC").unwrap(), Zone::Fixed(0));
        assert!(Zone::load("../etc/passwd").is_err());
        assert!(Zone::load("Mars/Olympus_Mons").is_err());
        if Path::new(ZONEINFO).join("Europe/Berlin").exists() {
            let berlin = Zone::load("Europe/Berlin").unwrap();
            assert_eq!(berlin.offset_at(at("2024-07-01T00:00:00Z")), 7200);
            assert_eq!(berlin.offset_at(at("2024-01-01T00:00:00Z")), 3600);
            assert_eq!(berlin.offset_at(at("2090-07-01T00:00:00Z")), 7200, "the rule covers the future");
            assert_eq!(berlin.offset_at(at("1960-07-01T00:00:00Z")), 3600);
        }
    }
}
