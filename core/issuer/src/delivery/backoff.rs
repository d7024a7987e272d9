//! When to try a failed delivery again: exponential backoff with jitter.

/// The wait after the `attempts`-th failure, in milliseconds: `initial_ms`
/// doubled per earlier failure, capped at `max_ms`, then "equal jitter":
/// half of it fixed and half drawn from `random` (any `u64`), so that
/// endpoints coming back are not hit by every instance's retries at once.
pub fn delay_ms(attempts: u32, initial_ms: u64, max_ms: u64, random: u64) -> u64 {
    let exp = attempts.saturating_sub(1).min(32);
    let base = initial_ms.saturating_mul(1u64 << exp).min(max_ms).max(1);
    let half = base / 2;
    half + random % (base - half + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps_within_the_jitter_band() {
        for (attempts, base) in [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (8, 60_000),
            (40, 60_000),
        ] {
            let low = delay_ms(attempts, 1_000, 60_000, 0);
            let high = delay_ms(attempts, 1_000, 60_000, u64::MAX - 1);
            assert_eq!(low, base / 2, "attempt {attempts}");
            assert!(
                high <= base && high >= base / 2,
                "attempt {attempts}: {high}"
            );
        }
        let spread: std::collections::BTreeSet<u64> = (0..50)
            .map(|r| delay_ms(3, 1_000, 60_000, r * 97))
            .collect();
        assert!(spread.len() > 10, "jitter spreads retries: {spread:?}");
    }
}
