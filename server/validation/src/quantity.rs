//! `resource.Quantity`: parsing, comparison and the canonical text form.
//!
//! Upstream never stores the user's spelling of a quantity: `1000m` comes
//! back as `1`, `1024Mi` as `1Gi`, `0.5` as `500m`. Validation messages also
//! print canonical forms ("must be less than or equal to cpu limit of 500m").
//! We keep an exact decimal (`mantissa * 10^scale`) in an `i128`; values too
//! large for that are left as the user wrote them, which only affects
//! quantities beyond ~10^20 units.

use std::cmp::Ordering;

/// How upstream renders a quantity; taken from the suffix the user wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, ... (base 1024).
    BinarySI,
    /// `m`, `k`, `M`, ... or no suffix.
    DecimalSI,
    /// `1e3`.
    DecimalExponent,
}

/// An exact quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    scale: i32,
    format: Format,
}

const MAX_DIGITS: usize = 30;

fn pow10(e: u32) -> Option<i128> {
    10i128.checked_pow(e)
}

fn decimal_suffix(s: &str) -> Option<i32> {
    Some(match s {
        "" => 0,
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        "P" => 15,
        "E" => 18,
        _ => return None,
    })
}

fn binary_suffix(s: &str) -> Option<u32> {
    ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().position(|x| *x == s).map(|i| 10 * (i as u32 + 1))
}

fn split_number(s: &str) -> Option<(bool, &str, &str, &str)> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let int_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let (int_part, after) = rest.split_at(int_end);
    let (frac_part, suffix) = match after.strip_prefix('.') {
        Some(f) => {
            let end = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
            f.split_at(end)
        }
        None => ("", after),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    Some((negative, int_part, frac_part, suffix))
}

impl Quantity {
    /// Parses upstream's quantity syntax; `None` means "invalid quantity".
    pub fn parse(s: &str) -> Option<Quantity> {
        let (negative, int_part, frac_part, suffix) = split_number(s)?;
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > MAX_DIGITS {
            return None;
        }
        let mut mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let mut scale = -(frac_part.len() as i32);
        let format = if let Some(bits) = binary_suffix(suffix) {
            mantissa = mantissa.checked_mul(1i128.checked_shl(bits)?)?;
            Format::BinarySI
        } else if let Some(exp) = decimal_suffix(suffix) {
            scale += exp;
            Format::DecimalSI
        } else {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            scale += exp.parse::<i32>().ok()?;
            Format::DecimalExponent
        };
        if negative {
            mantissa = -mantissa;
        }
        let q = Quantity { mantissa, scale, format }.round_up(-9)?;
        Some(q.normalized_format())
    }

    /// A quantity from an integer JSON number.
    pub fn from_int(v: i64) -> Quantity {
        Quantity { mantissa: v.into(), scale: 0, format: Format::DecimalSI }
    }

    /// Parses either a JSON string or a JSON number.
    pub fn from_json(v: &serde_json::Value) -> Option<Quantity> {
        match v {
            serde_json::Value::String(s) => Quantity::parse(s),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Quantity::from_int(i)),
                None => Quantity::parse(&n.to_string()),
            },
            _ => None,
        }
    }

    fn normalized_format(mut self) -> Quantity {
        if self.format == Format::BinarySI && self.mantissa > 0 && self.cmp_int(1) == Ordering::Less {
            self.format = Format::DecimalSI;
        }
        self
    }

    /// Rounds away from zero to `10^min_scale` precision, as upstream's
    /// `RoundUp` (values below a nano-unit, or a milli-unit for resource
    /// lists, become the smallest representable amount).
    pub fn round_up(self, min_scale: i32) -> Option<Quantity> {
        if self.scale >= min_scale {
            return Some(self);
        }
        let div = pow10((min_scale - self.scale) as u32)?;
        let mut m = self.mantissa / div;
        if self.mantissa % div != 0 {
            m += self.mantissa.signum();
        }
        Some(Quantity { mantissa: m, scale: min_scale, format: self.format })
    }

    /// Whether the value is negative.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// Whether the value has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.scale >= 0 || self.mantissa % pow10((-self.scale) as u32).unwrap_or(i128::MAX) == 0
    }

    fn cmp_int(&self, v: i128) -> Ordering {
        self.cmp_exact(&Quantity { mantissa: v, scale: 0, format: Format::DecimalSI })
    }

    /// Numeric comparison regardless of format.
    pub fn cmp_exact(&self, other: &Quantity) -> Ordering {
        let scale = self.scale.min(other.scale);
        let lift = |q: &Quantity| pow10((q.scale - scale) as u32).and_then(|p| q.mantissa.checked_mul(p));
        match (lift(self), lift(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.approx().total_cmp(&other.approx()),
        }
    }

    fn approx(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.scale)
    }

    /// The integer value when exact, e.g. for byte counts.
    fn as_integer(&self) -> Option<i128> {
        if self.scale >= 0 {
            self.mantissa.checked_mul(pow10(self.scale as u32)?)
        } else {
            let div = pow10((-self.scale) as u32)?;
            (self.mantissa % div == 0).then(|| self.mantissa / div)
        }
    }

    /// The canonical text, as upstream's `Quantity.String()`.
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_owned();
        }
        if self.format == Format::BinarySI && self.cmp_int(-1024).is_gt() && self.cmp_int(1024).is_lt() {
            return self.decimal_text(Format::DecimalSI);
        }
        match (self.format, self.as_integer()) {
            (Format::BinarySI, Some(v)) => binary_text(v),
            (Format::BinarySI, None) => self.decimal_text(Format::DecimalSI),
            (f, _) => self.decimal_text(f),
        }
    }

    fn decimal_text(&self, format: Format) -> String {
        let (mut m, mut e) = (self.mantissa, self.scale);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        match e.rem_euclid(3) {
            1 => (m, e) = (m * 10, e - 1),
            2 => (m, e) = (m * 100, e - 2),
            _ => {}
        }
        let suffix = match format {
            Format::DecimalSI => match e {
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
            },
            _ => (e == 0).then_some(""),
        };
        match suffix {
            Some(s) => format!("{m}{s}"),
            None => format!("{m}e{e}"),
        }
    }
}

fn binary_text(mut v: i128) -> String {
    let mut exp = 0;
    while v % 1024 == 0 && exp < 6 {
        v /= 1024;
        exp += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
    format!("{v}{suffix}")
}

/// Canonicalises a quantity in place (string form); leaves unparseable
/// values alone so validation can report them.
pub fn canonicalize(v: &mut serde_json::Value, round_to_milli: bool) {
    let Some(q) = Quantity::from_json(v) else {
        return;
    };
    let q = if round_to_milli { q.round_up(-3).unwrap_or(q) } else { q };
    *v = serde_json::Value::String(q.canonical());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Quantity::parse(s).map(|q| q.canonical()).unwrap_or_else(|| "<invalid>".into())
    }

    #[test]
    fn canonical_forms_match_upstream() {
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("0.5"), "500m");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("1536Mi"), "1536Mi");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("1000"), "1k");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("100Mi"), "100Mi");
        assert_eq!(canon("250m"), "250m");
        assert_eq!(canon("0"), "0");
        assert_eq!(canon("1.5"), "1500m");
        assert_eq!(canon("12e6"), "12e6");
        assert_eq!(canon("abc"), "<invalid>");
        assert_eq!(canon("1Qi"), "<invalid>");
    }

    #[test]
    fn compares_across_formats() {
        let a = Quantity::parse("1Gi").unwrap();
        let b = Quantity::parse("1000M").unwrap();
        assert_eq!(a.cmp_exact(&b), Ordering::Greater);
        assert_eq!(
            Quantity::parse("500m").unwrap().cmp_exact(&Quantity::parse("0.5").unwrap()),
            Ordering::Equal
        );
    }
}
