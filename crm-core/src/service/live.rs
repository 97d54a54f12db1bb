//! What live streams ask of the facade: the events an actor may see after a position, and
//! single-use stream tickets.

use super::Crm;
use crate::{error::CoreError, history::Event, role::Actor, store::Store};
use chrono::{DateTime, Utc};

impl<S: Store> Crm<S> {
    /// The events after position `after` that `actor` may see, in order, at most `limit`.
    pub async fn events_after(
        &self,
        actor: &Actor,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Event>, CoreError> {
        self.store
            .events_after(after, actor.visibility(), limit)
            .await
            .map_err(CoreError::from_store)
    }

    /// Uses a single-use value (a stream ticket's id) that is good until `expires_at`:
    /// true the first time, false ever after, on every replica.
    pub async fn use_once(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        self.store
            .use_once(nonce, expires_at, self.clock.now())
            .await
            .map_err(CoreError::from_store)
    }
}
