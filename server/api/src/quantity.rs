//! `resource.Quantity` (`1Gi`, `500m`, `2e3`): parsing, comparison and upstream's canonical text.
//!
//! Upstream never keeps the user's spelling of a quantity. It stores and prints
//! `Quantity.String()`, which re-spells the parsed value: `1000m` as `1`, `1024Mi` as `1Gi`,
//! `0.5` as `500m`. Validation compares values and defaults resource lists to that form;
//! the table printers show it for whatever the store holds.
//!
//! A value is a signed count of nano-units in an `i128`, rounded away from zero to a whole nano
//! as upstream's parser does. That covers about ±1.7e29 units; binary-suffixed values are capped at
//! 2^63-1 units, as upstream caps them. Upstream's arbitrary-precision decimals go further: we
//! treat such values as unparseable, so validation rejects them and printers show them as stored.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// Upstream caps binary-suffixed quantities at the largest `int64`.
const MAX_BINARY_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;

/// How a quantity was written, which decides how upstream writes it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `n`, `u`, `m`, `k`, `M`, ... or no suffix.
    DecimalSi,
    /// `Ki`, `Mi`, ... (powers of 1024).
    BinarySi,
    /// `1e3`, `1E-6`.
    DecimalExponent,
}

/// An exact quantity. Equality and order compare values whatever the spelling, as upstream's
/// `Cmp` does (`1000m == 1`); [`fmt::Display`] gives the canonical text.
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl Quantity {
    /// Parses upstream's syntax (`[+-]digits[.digits][suffix]`); `None` when `text` is not a
    /// quantity or lies outside the range the module docs give.
    ///
    /// An `Option` rather than an error type: every caller words the failure itself (validation's
    /// "must be a valid resource quantity"; printers fall back to the stored text).
    pub fn parse(text: &str) -> Option<Quantity> {
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let number_len = unsigned.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        // An empty number reads as 0 (`m`, `.`): upstream's parser accepts those too.
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if fraction.contains('.') {
            return None;
        }
        let (exponent, format) = interpret_suffix(suffix)?;
        let magnitude = to_nanos(whole, fraction, exponent, format)?;
        let magnitude = if format == Format::BinarySi { magnitude.min(MAX_BINARY_NANOS) } else { magnitude };
        Some(Quantity { nanos: if negative { -magnitude } else { magnitude }, format })
    }

    /// A whole number of units, as a JSON integer carries it.
    pub fn from_int(units: i64) -> Quantity {
        Quantity { nanos: i128::from(units) * NANOS_PER_UNIT, format: Format::DecimalSi }
    }

    /// A quantity given as a JSON string or number; `None` for anything else or an invalid value.
    pub fn from_json(value: &Value) -> Option<Quantity> {
        match value {
            Value::String(text) => Quantity::parse(text),
            Value::Number(number) => Quantity::parse(&number.to_string()),
            _ => None,
        }
    }

    /// Rounds away from zero to a multiple of `10^scale` units, as upstream's `RoundUp`
    /// (resource lists are defaulted with `scale` -3, milli-units). `None` on overflow.
    pub fn round_up(self, scale: i32) -> Option<Quantity> {
        let Ok(step_digits) = u32::try_from(i64::from(scale) + 9) else {
            return Some(self); // Finer than a nano: already whole.
        };
        let step = 10i128.checked_pow(step_digits)?;
        let rest = self.nanos % step;
        let nanos =
            if rest == 0 { self.nanos } else { (self.nanos - rest).checked_add(step * rest.signum())? };
        Some(Quantity { nanos, ..self })
    }

    /// Nothing, spelled as a decimal.
    pub fn zero() -> Quantity {
        Quantity { nanos: 0, format: Format::DecimalSi }
    }

    /// `self - other`, floored at zero (usage given back never goes negative).
    pub fn minus_or_zero(self, other: Quantity) -> Quantity {
        Quantity { nanos: self.nanos.saturating_sub(other.nanos).max(0), ..self }
    }

    /// `self / other` as a float, for limit-to-request ratios; `None` when `other` is zero.
    pub fn ratio(self, other: Quantity) -> Option<f64> {
        (other.nanos != 0).then(|| self.nanos as f64 / other.nanos as f64)
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the value is a whole number of units.
    pub fn is_integer(&self) -> bool {
        self.nanos % NANOS_PER_UNIT == 0
    }
}

/// The sum, spelled like the left side unless it is zero (then like the right), as sums of
/// requests read in upstream's quota usage (`1Gi + 512Mi = 1536Mi`). Saturates.
impl std::ops::Add for Quantity {
    type Output = Quantity;

    fn add(self, other: Quantity) -> Quantity {
        let format = if self.nanos == 0 { other.format } else { self.format };
        Quantity { nanos: self.nanos.saturating_add(other.nanos), format }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl fmt::Display for Quantity {
    /// Upstream's `Quantity.String()`: binary suffixes only for whole values of at least 1024,
    /// otherwise the largest decimal suffix (or exponent) that keeps the mantissa whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let whole_units = self.nanos % NANOS_PER_UNIT == 0;
        let tiny = self.nanos.abs() < 1024 * NANOS_PER_UNIT;
        match self.format {
            Format::BinarySi if whole_units && !tiny => write_binary(f, self.nanos / NANOS_PER_UNIT),
            Format::BinarySi => write_decimal(f, self.nanos, Format::DecimalSi),
            format => write_decimal(f, self.nanos, format),
        }
    }
}

/// `(exponent, format)` for a suffix such as `Ki`, `m` or `e3`; the exponent is of 2 for
/// [`Format::BinarySi`] and of 10 otherwise.
fn interpret_suffix(suffix: &str) -> Option<(i32, Format)> {
    let decimal = |exponent| Some((exponent, Format::DecimalSi));
    let binary = |exponent| Some((exponent, Format::BinarySi));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        // `i32::from_str` takes exactly `[+-]?[0-9]+`, which is upstream's exponent syntax.
        _ => Some((suffix.strip_prefix(['e', 'E'])?.parse().ok()?, Format::DecimalExponent)),
    }
}

/// The magnitude `whole.fraction * base^exponent` in nano-units, rounded up to the next nano.
fn to_nanos(whole: &str, fraction: &str, exponent: i32, format: Format) -> Option<i128> {
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0); // Whatever the exponent.
    }
    let mantissa: i128 = digits.parse().ok()?;
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    if format == Format::BinarySi {
        let scaled = mantissa.checked_mul(1i128.checked_shl(u32::try_from(exponent).ok()?)?)?;
        return shift_decimal(scaled, 9 - fraction_len);
    }
    shift_decimal(mantissa, exponent.checked_add(9)?.checked_sub(fraction_len)?)
}

/// `value * 10^shift` for a non-negative `value`, rounding a negative shift up.
fn shift_decimal(value: i128, shift: i32) -> Option<i128> {
    if shift >= 0 {
        return value.checked_mul(10i128.checked_pow(shift.unsigned_abs())?);
    }
    match 10i128.checked_pow(shift.unsigned_abs()) {
        Some(divisor) => Some(value / divisor + i128::from(value % divisor != 0)),
        None => Some(i128::from(value > 0)),
    }
}

/// Largest power-of-1024 suffix that keeps the mantissa whole.
fn write_binary(f: &mut fmt::Formatter<'_>, units: i128) -> fmt::Result {
    let (mut mantissa, mut power) = (units, 0);
    while mantissa % 1024 == 0 && power < 6 {
        mantissa /= 1024;
        power += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
    write!(f, "{mantissa}{suffix}")
}

/// Mantissa with all trailing zeros moved into an exponent that is a multiple of three.
fn write_decimal(f: &mut fmt::Formatter<'_>, nanos: i128, format: Format) -> fmt::Result {
    let (mut mantissa, mut exponent) = (nanos, -9i32);
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    let rest = exponent.rem_euclid(3);
    mantissa *= 10i128.pow(rest.unsigned_abs());
    exponent -= rest;
    let si_suffix = match exponent {
        -9 => Some("n"),
        -6 => Some("u"),
        -3 => Some("m"),
        0 => Some(""),
        3 => Some("k"),
        6 => Some("M"),
        9 => Some("G"),
        12 => Some("T"),
        15 => Some("P"),
        18 => Some("E"),
        _ => None,
    };
    match (format, si_suffix) {
        (Format::DecimalSi, Some(suffix)) => write!(f, "{mantissa}{suffix}"),
        _ if exponent == 0 => write!(f, "{mantissa}"),
        _ => write!(f, "{mantissa}e{exponent}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(text: &str) -> String {
        Quantity::parse(text).map_or_else(|| format!("invalid:{text}"), |q| q.to_string())
    }

    fn parse(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn decimal_si_is_respelled() {
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1.5"), "1500m");
        assert_eq!(canon("100m"), "100m");
        assert_eq!(canon("250m"), "250m");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
        assert_eq!(canon("1000"), "1k");
        assert_eq!(canon("0.0000000001"), "1n");
        // Rounded up to the smallest representable amount, keeping the exponent notation.
        assert_eq!(canon("1e-99999"), "1e-9");
        assert_eq!(canon("0.0000000001m"), "1n");
        assert_eq!(canon("-250m"), "-250m");
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("000"), "0");
    }

    #[test]
    fn binary_si_keeps_whole_powers_of_1024() {
        assert_eq!(canon("1024Ki"), "1Mi");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("10Gi"), "10Gi");
        assert_eq!(canon("100Mi"), "100Mi");
        assert_eq!(canon("1536Ki"), "1536Ki");
        assert_eq!(canon("1536Mi"), "1536Mi");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1000Ki"), "1000Ki");
    }

    #[test]
    fn binary_si_is_capped_at_the_largest_int64() {
        assert_eq!(canon("8Ei"), "9223372036854775807");
        assert_eq!(canon("-16Ei"), "-9223372036854775807");
        assert_eq!(canon("7Ei"), "7Ei");
    }

    #[test]
    fn exponents_stay_exponents() {
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("12e2"), "1200");
        assert_eq!(canon("12e6"), "12e6");
        assert_eq!(canon("1E6"), "1e6");
        assert_eq!(canon("1e+3"), "1e3");
    }

    #[test]
    fn zero_is_zero_however_written() {
        // Upstream's parser reads an empty number as 0 too.
        for text in ["m", ".", "-", "0Ei", "0e99999", "-0.000e-99999"] {
            assert_eq!(canon(text), "0", "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected() {
        for text in ["abc", "1.2.3", "5Xi", "1Qi", "1e", "1e3.5", "1 Gi", ""] {
            assert_eq!(canon(text), format!("invalid:{text}"));
        }
        // Beyond the range we represent.
        assert_eq!(canon("1e99999"), "invalid:1e99999");
        assert_eq!(
            canon("99999999999999999999999999999999999999m"),
            "invalid:99999999999999999999999999999999999999m"
        );
    }

    #[test]
    fn compares_across_formats() {
        assert_eq!(parse("1Gi").cmp(&parse("1000M")), Ordering::Greater);
        assert_eq!(parse("500m").cmp(&parse("0.5")), Ordering::Equal);
        assert_eq!(parse("1Ki"), parse("1024"));
        assert!(parse("-1n") < Quantity::from_int(0));
    }

    #[test]
    fn rounds_up_away_from_zero() {
        let milli = |text: &str| parse(text).round_up(-3).map(|q| q.to_string());
        assert_eq!(milli("1n").as_deref(), Some("1m"));
        assert_eq!(milli("-1n").as_deref(), Some("-1m"));
        assert_eq!(milli("1500m").as_deref(), Some("1500m"));
        assert_eq!(parse("1500m").round_up(0).map(|q| q.to_string()).as_deref(), Some("2"));
        assert_eq!(parse("1n").round_up(-12), Some(parse("1n")));
    }

    #[test]
    fn integers_signs_and_json() {
        assert!(parse("1000m").is_integer());
        assert!(!parse("1500m").is_integer());
        assert!(parse("-1").is_negative());
        assert_eq!(Quantity::from_json(&json!(2)), Some(Quantity::from_int(2)));
        assert_eq!(Quantity::from_json(&json!(0.5)).map(|q| q.to_string()).as_deref(), Some("500m"));
        assert_eq!(Quantity::from_json(&json!("1Ki")).map(|q| q.to_string()).as_deref(), Some("1Ki"));
        assert_eq!(Quantity::from_json(&json!(true)), None);
    }
}
