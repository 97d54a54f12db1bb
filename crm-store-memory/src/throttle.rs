//! Sign-in throttling state, under the store's lock like everything else.

use crate::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{LoginThrottle, StoreError, ThrottleState, throttle::WINDOW};

/// Above this many throttled usernames, entries whose window has passed are swept, so names
/// an attacker invents cannot grow the table without bound.
const SWEEP_ABOVE: usize = 10_000;

#[async_trait]
impl LoginThrottle for MemoryStore {
    async fn login_state(&self, key: &str) -> Result<Option<ThrottleState>, StoreError> {
        Ok(self.read().throttle.get(key).copied())
    }

    async fn login_failed(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, StoreError> {
        let mut g = self.write();
        if g.throttle.len() > SWEEP_ABOVE {
            g.throttle
                .retain(|_, s| now - s.last_failure <= WINDOW || s.wait(now).is_some());
        }
        let next = ThrottleState::after_failure(g.throttle.get(key).copied(), now);
        g.throttle.insert(key.to_owned(), next);
        Ok(next)
    }

    async fn login_succeeded(&self, key: &str) -> Result<(), StoreError> {
        self.write().throttle.remove(key);
        Ok(())
    }
}
