//! Go's `time.ParseDuration`, exactly.
//!
//! Velero reads every hook timeout with Go's parser, so "is this a valid timeout" means
//! "does Go accept it", with Go's units, signs, fractions, overflow rules and error texts.
//! A hand-written port (rather than a Rust duration crate) is the only way to agree with
//! Go byte for byte; the fixtures in `tests/fixtures/go-duration-cases.json` were produced
//! by the real Go function and are checked in full by the tests.

use std::fmt;

/// Nanoseconds, as Go's `time.Duration` (a signed 64-bit count).
pub type Nanos = i64;

pub const NANOS_PER_SECOND: Nanos = 1_000_000_000;

/// Why Go rejected a duration; `Display` gives Go's own error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", go_quote(.input))]
    Invalid { input: String },
    #[error("time: missing unit in duration {}", go_quote(.input))]
    MissingUnit { input: String },
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.input))]
    UnknownUnit { unit: String, input: String },
}

const OVERFLOW_LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // Go accepts the ASCII spelling, MICRO SIGN (U+00B5) and GREEK SMALL LETTER MU (U+03BC).
        "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60 * 1_000_000_000,
        "h" => 3_600 * 1_000_000_000,
        _ => return None,
    })
}

/// Parses `input` the way Go's `time.ParseDuration` does.
pub fn parse_go_duration(input: &str) -> Result<Nanos, DurationError> {
    let invalid = || DurationError::Invalid {
        input: input.to_owned(),
    };
    let mut s = input.as_bytes();
    let mut negative = false;
    if let Some(&sign @ (b'-' | b'+')) = s.first() {
        negative = sign == b'-';
        s = &s[1..];
    }
    // "0" is the only number Go accepts without a unit (with an optional sign).
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (mut value, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let has_integer = before != s.len();

        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut has_fraction = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (f, sc, rest) = leading_fraction(s);
            fraction = f;
            scale = sc;
            s = rest;
            has_fraction = before != s.len();
        }
        if !has_integer && !has_fraction {
            return Err(invalid());
        }

        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit {
                input: input.to_owned(),
            });
        }
        let unit_bytes = &s[..unit_len];
        s = &s[unit_len..];
        // The unit ends at an ASCII byte (or the end), so it is whole UTF-8.
        let unit_str = std::str::from_utf8(unit_bytes).unwrap_or_default();
        let Some(unit) = unit_nanos(unit_str) else {
            return Err(DurationError::UnknownUnit {
                unit: unit_str.to_owned(),
                input: input.to_owned(),
            });
        };
        if value > OVERFLOW_LIMIT / unit {
            return Err(invalid());
        }
        value *= unit;
        if fraction > 0 {
            // Go computes the fractional part in float64; the cast truncates like Go's conversion.
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > OVERFLOW_LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > OVERFLOW_LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // total <= 2^63 here, and -(2^63) is representable.
        return Ok((total as i128).wrapping_neg() as i64);
    }
    if total > OVERFLOW_LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Consumes leading decimal digits; `None` on overflow past 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > OVERFLOW_LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > OVERFLOW_LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes the digits after a decimal point; precision beyond 63 bits is dropped, as Go does.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (OVERFLOW_LIMIT - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > OVERFLOW_LIMIT {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

/// Go's `time.quote`: printable ASCII kept, `"` and `\` escaped, every other byte as `\xNN`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
    }
    out.push('"');
    out
}

/// Formats nanoseconds the way Go's `Duration.String` does (`1h30m0s`, `1.5s`, `0s`),
/// so messages quote durations in the form Velero's logs print them.
pub fn format_go_duration(nanos: Nanos) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let negative = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < NANOS_PER_SECOND as u64 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fraction_string(u / div, u % div, div));
        out.push_str(unit);
    } else {
        let hours = u / 3_600_000_000_000;
        let minutes = (u / 60_000_000_000) % 60;
        let secs = u % 60_000_000_000;
        if hours > 0 {
            out.push_str(&format!("{hours}h"));
        }
        if hours > 0 || minutes > 0 {
            out.push_str(&format!("{minutes}m"));
        }
        out.push_str(&fraction_string(
            secs / 1_000_000_000,
            secs % 1_000_000_000,
            1_000_000_000,
        ));
        out.push('s');
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

fn fraction_string(whole: u64, remainder: u64, div: u64) -> String {
    if remainder == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let digits = format!("{remainder:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A duration as written and as understood, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoDuration(pub Nanos);

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        for (nanos, text) in [
            (0, "0s"),
            (30 * NANOS_PER_SECOND, "30s"),
            (5_400 * NANOS_PER_SECOND, "1h30m0s"),
            (1_500_000_000, "1.5s"),
            (1_000, "1µs"),
            (-NANOS_PER_SECOND, "-1s"),
            (4 * 3_600 * NANOS_PER_SECOND, "4h0m0s"),
            (303 * NANOS_PER_SECOND, "5m3s"),
        ] {
            assert_eq!(format_go_duration(nanos), text);
        }
    }
}
