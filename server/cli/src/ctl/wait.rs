//! Durations as kubectl flags spell them (`30s`, `5m`, `1h30m`, `500ms`, a bare number of
//! seconds) and waiting for an object to be gone.

use super::Ctx;
use anyhow::bail;
use std::time::Duration;

/// Go's `time.ParseDuration` for the units a CLI user types, plus a bare number as seconds.
pub fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let unit_len = rest[digits..].find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let Ok(n) = number.parse::<f64>() else { bail!("invalid duration {s:?}: use e.g. 30s, 5m or 1h") };
        let unit_secs = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => bail!("invalid duration {s:?}: unknown unit {unit:?} (use ms, s, m or h)"),
        };
        total += Duration::from_secs_f64(n * unit_secs);
        rest = &rest[digits + unit_len..];
    }
    if s.is_empty() {
        bail!("invalid duration \"\": use e.g. 30s, 5m or 1h");
    }
    Ok(total)
}

/// Poll until the object at `path` is gone or has a new uid (it was recreated); `false` when
/// `timeout` passed first.
pub async fn until_gone(ctx: &Ctx, path: &str, uid: &str, timeout: Duration) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match ctx.client.get_opt(path).await? {
            None => return Ok(true),
            Some(obj) if obj["metadata"]["uid"].as_str() != Some(uid) => return Ok(true),
            Some(_) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_durations() {
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
    }
}
