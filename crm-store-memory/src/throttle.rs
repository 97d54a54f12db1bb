//! Sign-in throttling state, under the store's lock like everything else.

use crate::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{LoginThrottle, StoreError, ThrottleState, throttle::WINDOW};

/// Above this many throttled usernames, entries whose window has passed are swept, so names
/// an attacker invents cannot grow the table without bound.
const SWEEP_ABOVE: usize = 10_000;

#[async_trait]
impl LoginThrottle for MemoryStore {
    async fn reserve_sign_in(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<ThrottleState, TimeDelta>, StoreError> {
        let mut g = self.write();
        if g.throttle.len() > SWEEP_ABOVE {
            g.throttle
                .retain(|_, s| now - s.last_failure <= WINDOW || s.wait(now).is_some());
        }
        let reserved = ThrottleState::reserve(g.throttle.get(key).copied(), now);
        if let Ok(next) = reserved {
            g.throttle.insert(key.to_owned(), next);
        }
        Ok(reserved)
    }

    async fn login_succeeded(&self, key: &str) -> Result<(), StoreError> {
        self.write().throttle.remove(key);
        Ok(())
    }
}
