//! Sign-in throttling per username, as a pure rule the stores apply atomically: after
//! [`FREE_FAILURES`] failures within [`WINDOW`], each further failure locks the username for a
//! delay that starts at one second and doubles, up to [`MAX_DELAY`]. Attempts while locked are
//! refused without checking the password, whether or not the username exists; a success
//! forgets it all. The state lives in the store, so every replica sees the same lock.

use chrono::{DateTime, TimeDelta, Utc};

/// Failures allowed before the first lock.
pub const FREE_FAILURES: u32 = 5;
/// Failures further apart than this start counting again.
pub const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// The longest lock.
pub const MAX_DELAY: TimeDelta = TimeDelta::minutes(15);

/// What a store keeps per throttled username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the latest failure happened.
    pub last_failure: DateTime<Utc>,
    /// Until when attempts are refused, if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottleState {
    /// The state after a failure at `now`, from the state before (if any).
    pub fn after_failure(prev: Option<ThrottleState>, now: DateTime<Utc>) -> ThrottleState {
        let failures = match prev {
            Some(p) if now - p.last_failure <= WINDOW => p.failures.saturating_add(1),
            _ => 1,
        };
        let locked_until = (failures >= FREE_FAILURES).then(|| {
            let doublings = (failures - FREE_FAILURES).min(20);
            now + TimeDelta::seconds(1i64 << doublings).min(MAX_DELAY)
        });
        ThrottleState {
            failures,
            last_failure: now,
            locked_until,
        }
    }

    /// Reserves one sign-in attempt at `now`, as the store must apply it atomically: refused
    /// with the wait while the username is locked; otherwise granted, and counted as a failure
    /// up front (a success then forgets the whole state). Counting before the password is
    /// checked is what bounds concurrency: of any number of attempts racing for one username,
    /// exactly [`FREE_FAILURES`] are granted before the lock refuses the rest, however long
    /// their hashing takes.
    pub fn reserve(
        prev: Option<ThrottleState>,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, TimeDelta> {
        match prev.and_then(|p| p.wait(now)) {
            Some(wait) => Err(wait),
            None => Ok(Self::after_failure(prev, now)),
        }
    }

    /// How long attempts must still wait at `now`, if locked.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        self.locked_until.filter(|&t| t > now).map(|t| t - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_racing_attempts_exactly_the_free_ones_are_granted() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut state = None;
        let mut granted = 0;
        for _ in 0..40 {
            if let Ok(next) = ThrottleState::reserve(state, now) {
                granted += 1;
                state = Some(next);
            }
        }
        assert_eq!(granted, FREE_FAILURES);
    }

    #[test]
    fn five_free_failures_then_doubling_locks_capped_at_fifteen_minutes() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let mut s = None;
        let mut now = t0;
        for n in 1..FREE_FAILURES {
            let next = ThrottleState::after_failure(s, now);
            assert_eq!((next.failures, next.locked_until), (n, None));
            s = Some(next);
            now += TimeDelta::seconds(1);
        }
        let mut delays = Vec::new();
        for _ in 0..14 {
            let next = ThrottleState::after_failure(s, now);
            let wait = next.wait(now).unwrap();
            delays.push(wait.num_seconds());
            now += wait;
            assert_eq!(next.wait(now), None, "free again once the delay passed");
            s = Some(next);
        }
        assert_eq!(&delays[..6], &[1, 2, 4, 8, 16, 32]);
        assert_eq!(*delays.last().unwrap(), 900);
        // Reserving refuses while locked and counts up front otherwise.
        let locked = s.unwrap();
        let at = locked.locked_until.unwrap() - TimeDelta::milliseconds(1);
        assert!(ThrottleState::reserve(s, at).is_err());
        let granted = ThrottleState::reserve(s, locked.locked_until.unwrap()).unwrap();
        assert_eq!(granted.failures, locked.failures + 1);
        // A failure long after the last one starts over.
        let fresh = ThrottleState::after_failure(s, now + WINDOW + TimeDelta::seconds(1));
        assert_eq!((fresh.failures, fresh.locked_until), (1, None));
    }
}
