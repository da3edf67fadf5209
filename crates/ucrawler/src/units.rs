//! Human-friendly sizes and durations, shared by the config file format, the CLI and the Ruby
//! keywords: one parser, so `64MiB` means the same thing everywhere.

use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// Parses a byte size: plain bytes (`1048576`) or a number with a unit (`512KiB`, `64MiB`,
/// `1GiB`, `10MB`, `1.5GB`, `100B`). Units are case-insensitive; `K`/`M`/`G` alone are binary.
pub fn parse_size(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number = number.replace('_', "");
    // Whole numbers stay integers: an f64 would round counts past 2^53.
    let whole = number.parse::<u64>().ok();
    let number: f64 = number.parse().map_err(|_| {
        format!("invalid size {input:?}: expected bytes or a number with a unit such as 64MiB")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "invalid size {input:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    let out_of_range = || format!("invalid size {input:?}: out of range");
    if let Some(whole) = whole {
        return whole.checked_mul(multiplier).ok_or_else(out_of_range);
    }
    let bytes = (number * multiplier as f64).round();
    // `u64::MAX as f64` is 2^64, itself out of range.
    if !bytes.is_finite() || bytes < 0.0 || bytes >= u64::MAX as f64 {
        return Err(out_of_range());
    }
    Ok(bytes as u64)
}

/// Parses a duration: seconds as a number (`0.25`, `30`) or with a unit (`500ms`, `2s`, `1m`,
/// `1h`).
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!(
            "invalid duration {input:?}: expected seconds or a number with a unit such as 500ms"
        )
    })?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" => number,
        "ms" => number / 1000.0,
        "us" | "µs" => number / 1_000_000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(format!(
                "invalid duration {input:?}: unknown unit {other:?} (use ms, s, m, h)"
            ))
        }
    };
    duration_from_secs(seconds).map_err(|e| format!("invalid duration {input:?}: {e}"))
}

pub(crate) fn duration_from_secs(seconds: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| "must be a finite, non-negative number of seconds".to_string())
}

/// Formats a byte count for people: `1.5 MiB`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// serde helpers: accept a number or a string with a unit.
pub mod size {
    use super::*;

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size in bytes or a string such as \"64MiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
                if v.is_finite() && v >= 0.0 {
                    Ok(v.round() as u64)
                } else {
                    Err(E::custom("a size must be a finite, non-negative number"))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                parse_size(v).map_err(E::custom)
            }
        }
        d.deserialize_any(SizeVisitor)
    }
}

/// serde helpers for durations: seconds as a number, or a string such as `"500ms"`.
pub mod duration {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(value.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("seconds as a number or a string such as \"500ms\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_secs(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_secs)
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                duration_from_secs(v).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        d.deserialize_any(DurationVisitor)
    }
}

/// serde helpers for optional durations (`null` = none).
pub mod opt_duration {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrapper(#[serde(with = "super::duration")] Duration);
        let value: Option<Wrapper> = serde::Deserialize::deserialize(d)?;
        Ok(value.map(|Wrapper(d)| d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert!(parse_size("ten").unwrap_err().contains("ten"));
        assert!(parse_size("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
    }

    /// Found by the `units` fuzz target: byte counts past 2^53 went through an f64 and came
    /// back rounded, and sizes past u64::MAX were capped instead of refused.
    #[test]
    fn large_sizes_are_exact_or_refused() {
        assert_eq!(parse_size("9007199254740993"), Ok(9_007_199_254_740_993));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size("8191TiB"), Ok(8191 << 40));
        for too_big in [
            "18446744073709551616",
            "16777216TiB",
            "99999999999999999999999",
        ] {
            assert!(
                parse_size(too_big).unwrap_err().contains("out of range"),
                "{too_big}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(10), "10 B");
        assert_eq!(format_size(3 << 20), "3.0 MiB");
    }
}
