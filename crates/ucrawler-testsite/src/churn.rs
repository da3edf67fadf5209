//! [`Churn`]: how much of the site changes from one generation to the next.

/// Shares of the pages live in a generation that the next generation changes, removes and
/// adds, in parts per million (so [`crate::SiteConfig`] stays `Eq`). Default: 5 % changed,
/// 1 % removed, 2 % added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Churn {
    /// Pages whose content changes (text, title words, price; links to removed pages go).
    pub changed_ppm: u32,
    /// Pages removed (they answer 404, or 410 for a fixed quarter of them).
    pub removed_ppm: u32,
    /// New pages, each linked only from one of the generation's changed pages.
    pub added_ppm: u32,
}

impl Default for Churn {
    fn default() -> Churn {
        Churn {
            changed_ppm: 50_000,
            removed_ppm: 10_000,
            added_ppm: 20_000,
        }
    }
}

impl Churn {
    /// From fractions such as `0.05`: each in `0..=1`, `changed + removed <= 1`.
    pub fn new(changed: f64, removed: f64, added: f64) -> Result<Churn, String> {
        let ppm = |name: &str, f: f64| {
            if (0.0..=1.0).contains(&f) {
                Ok((f * 1e6).round() as u32)
            } else {
                Err(format!(
                    "{name} must be a fraction between 0 and 1, not {f}"
                ))
            }
        };
        let churn = Churn {
            changed_ppm: ppm("changed", changed)?,
            removed_ppm: ppm("removed", removed)?,
            added_ppm: ppm("added", added)?,
        };
        if churn.changed_ppm + churn.removed_ppm > 1_000_000 {
            return Err("changed + removed must not exceed 1".into());
        }
        Ok(churn)
    }

    /// `ppm` of `n`, rounded.
    pub(crate) fn share(n: usize, ppm: u32) -> usize {
        ((n as u64 * u64::from(ppm) + 500_000) / 1_000_000) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions() {
        let churn = Churn::new(0.05, 0.01, 0.02).unwrap();
        assert_eq!(churn, Churn::default());
        assert!(Churn::new(1.5, 0.0, 0.0).is_err());
        assert!(Churn::new(0.6, 0.5, 0.0).is_err());
        assert!(Churn::new(f64::NAN, 0.0, 0.0).is_err());
        assert_eq!(Churn::share(1000, 50_000), 50);
        assert_eq!(Churn::share(10, 50_000), 1);
        assert_eq!(Churn::share(9, 50_000), 0);
    }
}
