//! One quantity: an exact decimal value (`mantissa × 10^exponent`) and the notation it prints
//! in, after upstream's `k8s.io/apimachinery/pkg/api/resource`.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{AddAssign, SubAssign};
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as WireQuantity;

/// How a quantity prints: the notation it was written in, kept through arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Powers of ten with SI suffixes (`m`, `k`, `M`, …), or none.
    #[default]
    DecimalSi,
    /// Powers of 1024 (`Ki`, `Mi`, …).
    BinarySi,
    /// Scientific notation (`1e3`).
    DecimalExponent,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The number part is missing or malformed.
    #[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Malformed,
    /// The suffix is not one upstream knows.
    #[error("unable to parse quantity's suffix")]
    UnknownSuffix,
    /// The value does not fit.
    #[error("quantity too large")]
    TooLarge,
}

/// Decimal SI suffixes by power of ten.
const DECIMAL_SUFFIXES: &[(i32, &str)] = &[
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];

/// Binary SI suffixes by power of 1024.
const BINARY_SUFFIXES: &[&str] = &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// The finest precision a quantity keeps (upstream rounds up to nano units).
const MIN_EXPONENT: i32 = -9;

/// A resource quantity. Equality and order compare values, not notation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    mantissa: i128,
    exponent: i32,
    format: Format,
}

impl Quantity {
    /// `value` whole units, printed in `format`.
    pub fn new(value: i64, format: Format) -> Self {
        Self::from_parts(i128::from(value), 0, format)
    }

    /// `milli` thousandths of a unit, printed in `format`.
    pub fn from_milli(milli: i64, format: Format) -> Self {
        Self::from_parts(i128::from(milli), -3, format)
    }

    /// A normalized quantity: no trailing zeros in the mantissa, at most nano precision
    /// (finer values round away from zero, as upstream's parser does).
    fn from_parts(mut mantissa: i128, mut exponent: i32, format: Format) -> Self {
        if exponent < MIN_EXPONENT {
            let drop = (MIN_EXPONENT - exponent).unsigned_abs();
            mantissa = pow10(drop).map_or(mantissa.signum(), |d| div_away(mantissa, d));
            exponent = MIN_EXPONENT;
        }
        if mantissa == 0 {
            exponent = 0;
        }
        while mantissa != 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            exponent += 1;
        }
        Self {
            mantissa,
            exponent,
            format,
        }
    }

    /// The notation this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// The value in units of `10^scale`, rounded away from zero; `None` when it overflows.
    fn scaled(&self, scale: i32) -> Option<i128> {
        let shift = self.exponent - scale;
        if shift >= 0 {
            self.mantissa.checked_mul(pow10(shift.unsigned_abs())?)
        } else {
            Some(
                pow10(shift.unsigned_abs())
                    .map_or(self.mantissa.signum(), |d| div_away(self.mantissa, d)),
            )
        }
    }

    /// The value in whole units, rounded up (upstream's `Value`); saturates.
    pub fn value(&self) -> i64 {
        saturate(self.scaled(0), self.mantissa)
    }

    /// The value in thousandths, rounded up (upstream's `MilliValue`); saturates.
    pub fn milli_value(&self) -> i64 {
        saturate(self.scaled(-3), self.mantissa)
    }

    /// The value as a float, for ratios.
    pub fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    /// This quantity as the wire type, in canonical form.
    pub fn to_wire(&self) -> WireQuantity {
        WireQuantity(self.to_string())
    }

    /// Parses the wire type.
    ///
    /// # Errors
    /// A [`ParseError`] for a malformed quantity.
    pub fn from_wire(q: &WireQuantity) -> Result<Self, ParseError> {
        q.0.parse()
    }

    /// `(mantissa, exponent)` of both values at a common exponent, if that fits.
    fn aligned(&self, other: &Self) -> Option<(i128, i128, i32)> {
        let exponent = self.exponent.min(other.exponent);
        Some((self.scaled(exponent)?, other.scaled(exponent)?, exponent))
    }

    fn combine(&mut self, other: &Self, op: fn(i128, i128) -> Option<i128>) {
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        if let Some((a, b, exponent)) = self.aligned(other) {
            if let Some(sum) = op(a, b) {
                *self = Self::from_parts(sum, exponent, format);
                return;
            }
        }
        // Beyond i128: keep the larger operand's magnitude rather than wrap.
        if other.cmp(self) == Ordering::Greater {
            *self = Self { format, ..*other };
        }
    }

    /// The canonical number and suffix for a decimal notation.
    fn decimal_parts(&self, format: Format) -> (i128, String) {
        let mut mantissa = self.mantissa;
        let mut exponent = self.exponent;
        lower(exponent.rem_euclid(3), &mut mantissa, &mut exponent);
        if format == Format::DecimalSi && exponent > 18 {
            lower(exponent - 18, &mut mantissa, &mut exponent);
        }
        let known = DECIMAL_SUFFIXES.iter().find(|(e, _)| *e == exponent);
        let suffix = match (format, known) {
            (Format::DecimalSi, Some((_, s))) => (*s).to_owned(),
            (_, _) if exponent == 0 => String::new(),
            _ => format!("e{exponent}"),
        };
        (mantissa, suffix)
    }

    /// The canonical number and suffix in powers of 1024, when the value is a whole number
    /// of at least 1024 in magnitude.
    fn binary_parts(&self) -> Option<(i128, &'static str)> {
        let mut value = self.scaled(0).filter(|_| self.exponent >= 0)?;
        if value.abs() < 1024 {
            return None;
        }
        let mut power = 0;
        while value % 1024 == 0 && power + 1 < BINARY_SUFFIXES.len() {
            value /= 1024;
            power += 1;
        }
        Some((value, BINARY_SUFFIXES[power]))
    }
}

/// Lowers the exponent by `by`, scaling the mantissa up, unless that overflows.
fn lower(by: i32, mantissa: &mut i128, exponent: &mut i32) {
    if let Some(scaled) = pow10(by.unsigned_abs()).and_then(|p| mantissa.checked_mul(p)) {
        *mantissa = scaled;
        *exponent -= by;
    }
}

/// `10^n`, if it fits.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `a / d` rounded away from zero.
fn div_away(a: i128, d: i128) -> i128 {
    let q = a / d;
    if a % d == 0 {
        q
    } else {
        q + a.signum()
    }
}

fn saturate(value: Option<i128>, sign: i128) -> i64 {
    match value {
        Some(v) => i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }),
        None if sign < 0 => i64::MIN,
        None => i64::MAX,
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
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
        match self.aligned(other) {
            Some((a, b, _)) => a.cmp(&b),
            None => self.as_f64().total_cmp(&other.as_f64()),
        }
    }
}

impl AddAssign<&Quantity> for Quantity {
    /// Adds `other`; the sum keeps this quantity's notation (the other's when this is zero).
    fn add_assign(&mut self, other: &Quantity) {
        self.combine(other, i128::checked_add);
    }
}

impl SubAssign<&Quantity> for Quantity {
    /// Subtracts `other`, keeping the notation as addition does.
    fn sub_assign(&mut self, other: &Quantity) {
        self.combine(other, i128::checked_sub);
    }
}

impl fmt::Display for Quantity {
    /// Upstream's canonical form: `0`; whole multiples of 1024 in binary notation (small or
    /// fractional ones in decimal); otherwise the largest SI suffix with an integer number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.format == Format::BinarySi {
            if let Some((number, suffix)) = self.binary_parts() {
                return write!(f, "{number}{suffix}");
            }
        }
        let format = match self.format {
            Format::BinarySi => Format::DecimalSi,
            other => other,
        };
        let (number, suffix) = self.decimal_parts(format);
        write!(f, "{number}{suffix}")
    }
}

impl FromStr for Quantity {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return Err(ParseError::Malformed);
        }
        let digits = format!("{whole}{fraction}");
        let mut mantissa: i128 = digits.parse().map_err(|_| ParseError::TooLarge)?;
        if negative {
            mantissa = -mantissa;
        }
        let mut exponent = -i32::try_from(fraction.len()).map_err(|_| ParseError::TooLarge)?;
        let (format, shift, binary) = parse_suffix(suffix)?;
        exponent = exponent.checked_add(shift).ok_or(ParseError::TooLarge)?;
        let factor = 1024i128.checked_pow(binary).ok_or(ParseError::TooLarge)?;
        mantissa = mantissa.checked_mul(factor).ok_or(ParseError::TooLarge)?;
        Ok(Self::from_parts(mantissa, exponent, format))
    }
}

/// A suffix's notation, power of ten and power of 1024.
fn parse_suffix(suffix: &str) -> Result<(Format, i32, u32), ParseError> {
    if let Some((exp, _)) = DECIMAL_SUFFIXES.iter().find(|(_, s)| *s == suffix) {
        return Ok((Format::DecimalSi, *exp, 0));
    }
    if let Some(power) = BINARY_SUFFIXES.iter().position(|s| *s == suffix) {
        let power = u32::try_from(power).map_err(|_| ParseError::UnknownSuffix)?;
        return Ok((Format::BinarySi, 0, power));
    }
    let exponent = suffix
        .strip_prefix(['e', 'E'])
        .ok_or(ParseError::UnknownSuffix)?;
    let digits = exponent.trim_start_matches(['+', '-']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::UnknownSuffix);
    }
    let exp: i32 = exponent.parse().map_err(|_| ParseError::TooLarge)?;
    Ok((Format::DecimalExponent, exp, 0))
}

#[cfg(test)]
#[path = "quantity_tests.rs"]
mod tests;
