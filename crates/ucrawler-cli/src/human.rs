//! Numbers for people, shared by the progress line and the end report: counts with thousands
//! separators, rates with as many digits as they deserve, clock-style durations.

use std::time::Duration;

/// `1234567` → `1,234,567`: counts of pages and hosts get large enough to misread.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `count` and the noun, plural unless exactly one: `1 error`, `2 errors`.
pub fn counted(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", count(n))
}

/// A rate per second: one decimal below 100 (`12.3`), whole numbers above (`1,234`); the
/// fourth significant digit of a rate measured over a few seconds is noise.
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0".into()
    } else if per_sec < 99.95 {
        format!("{per_sec:.1}")
    } else {
        count(per_sec.round() as u64)
    }
}

/// A duration as a clock: `0:07`, `12:34`, `1:02:03` (hours are not wrapped into days).
pub fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(123_456), "123,456");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(counted(1, "error"), "1 error");
        assert_eq!(counted(1500, "page"), "1,500 pages");
    }

    #[test]
    fn rates_have_sensible_precision() {
        assert_eq!(rate(159.7006), "160");
        assert_eq!(rate(1234.4), "1,234");
        assert_eq!(rate(12.345), "12.3");
        assert_eq!(rate(0.04), "0.0");
        assert_eq!(rate(99.96), "100", "no 100.0");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(f64::NAN), "0");
        assert_eq!(rate(f64::INFINITY), "0");
    }

    #[test]
    fn durations_read_as_a_clock() {
        assert_eq!(clock(Duration::from_millis(7_900)), "0:07");
        assert_eq!(clock(Duration::from_secs(754)), "12:34");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(clock(Duration::from_secs(100 * 3600)), "100:00:00");
    }
}
