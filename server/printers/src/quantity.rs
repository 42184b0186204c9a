//! Resource quantities (`1Gi`, `500m`, `2e3`) in upstream's canonical spelling.
//!
//! Upstream prints capacities, quota usage and HPA targets with `Quantity.String()`, which
//! re-spells the parsed value canonically: `1000m` prints as `1`, `1024Ki` as `1Mi`, `0.5` as
//! `500m`. Our store keeps whatever the client sent, so we canonicalise here to print what a real
//! cluster would. Values are held as a signed count of nano-units in an `i128`, which covers every
//! quantity the API accepts (at most 2^63-1 units, at least 1n); anything we cannot parse is shown
//! as stored rather than failing the table.

use serde_json::Value;

use crate::field::Field;

/// The canonical text of the quantity at `field`, or `None` when it is unset.
pub(crate) fn quantity(field: Field<'_>) -> Option<String> {
    let raw = match field.value()? {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    Some(canonicalize(&raw).unwrap_or(raw))
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

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// How the quantity was written, which decides how it is written back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// Re-spells `text` canonically; `None` when it is not a valid quantity.
fn canonicalize(text: &str) -> Option<String> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') {
        return None;
    }
    let (base, exponent, format) = interpret_suffix(suffix)?;
    let magnitude = to_nanos(whole, fraction, base, exponent)?;
    let magnitude = if format == Format::BinarySi {
        magnitude.min(i128::from(i64::MAX) * NANOS_PER_UNIT)
    } else {
        magnitude
    };
    let nanos = if negative { -magnitude } else { magnitude };
    Some(render(nanos, format))
}

/// `(base, exponent, format)` for a suffix such as `Ki`, `m` or `e3`.
fn interpret_suffix(suffix: &str) -> Option<(u32, i32, Format)> {
    let decimal = |exponent| Some((10, exponent, Format::DecimalSi));
    let binary = |exponent| Some((2, exponent, Format::BinarySi));
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
        _ => {
            let digits = suffix.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((10, digits.parse().ok()?, Format::DecimalExponent))
        }
    }
}

/// The magnitude in nano-units, rounded up to the next nano as upstream does.
fn to_nanos(whole: &str, fraction: &str, base: u32, exponent: i32) -> Option<i128> {
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    let fraction_len = i32::try_from(fraction.len()).ok()?;
    if base == 2 {
        let scaled = mantissa.checked_mul(1i128.checked_shl(u32::try_from(exponent).ok()?)?)?;
        return shift_decimal(scaled, 9 - fraction_len);
    }
    shift_decimal(mantissa, exponent.checked_add(9)?.checked_sub(fraction_len)?)
}

/// `value * 10^shift`, rounding a negative shift up (away from zero).
fn shift_decimal(value: i128, shift: i32) -> Option<i128> {
    if shift >= 0 {
        return value.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?);
    }
    match 10i128.checked_pow(shift.unsigned_abs()) {
        Some(divisor) => Some(value / divisor + i128::from(value % divisor != 0)),
        None => Some(i128::from(value > 0)),
    }
}

fn render(nanos: i128, format: Format) -> String {
    if nanos == 0 {
        return "0".to_owned();
    }
    let whole_units = nanos % NANOS_PER_UNIT == 0;
    let tiny = nanos.abs() < 1024 * NANOS_PER_UNIT;
    if format == Format::BinarySi && whole_units && !tiny {
        return render_binary(nanos / NANOS_PER_UNIT);
    }
    let format = if format == Format::BinarySi { Format::DecimalSi } else { format };
    render_decimal(nanos, format)
}

/// Largest power-of-1024 suffix that keeps the mantissa whole.
fn render_binary(units: i128) -> String {
    let (mut mantissa, mut power) = (units, 0);
    while mantissa.abs() >= 1024 && mantissa % 1024 == 0 && power < 6 {
        mantissa /= 1024;
        power += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
    format!("{mantissa}{suffix}")
}

/// Mantissa with all trailing zeros moved into an exponent that is a multiple of three.
fn render_decimal(nanos: i128, format: Format) -> String {
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
        (Format::DecimalSi, Some(suffix)) => format!("{mantissa}{suffix}"),
        (_, _) if exponent == 0 => format!("{mantissa}"),
        _ => format!("{mantissa}e{exponent}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonicalize(text).unwrap_or_else(|| format!("invalid:{text}"))
    }

    #[test]
    fn decimal_si_is_respelled() {
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("100m"), "100m");
        assert_eq!(canon("1500"), "1500");
        assert_eq!(canon("2000"), "2k");
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
        assert_eq!(canon("10Gi"), "10Gi");
        assert_eq!(canon("1536Ki"), "1536Ki");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1000Ki"), "1000Ki");
    }

    #[test]
    fn exponents_stay_exponents() {
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("12e2"), "1200");
        assert_eq!(canon("1E6"), "1e6");
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(canon("abc"), "invalid:abc");
        assert_eq!(canon("1.2.3"), "invalid:1.2.3");
        assert_eq!(canon("5Xi"), "invalid:5Xi");
        assert_eq!(canon("1e99999"), "invalid:1e99999");
        assert_eq!(
            canon("99999999999999999999999999999999999999m"),
            "invalid:99999999999999999999999999999999999999m"
        );
        assert_eq!(canon(""), "invalid:");
    }
}
