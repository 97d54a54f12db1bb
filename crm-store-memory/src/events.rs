//! The global order of events and the in-process listeners of live streams.

use crate::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{Change, ChangeListener, Event, EventLog, StoreError, Visibility};
use tokio::sync::broadcast;

struct Listener(broadcast::Receiver<Change>);

#[async_trait]
impl ChangeListener for Listener {
    async fn next(&mut self) -> Result<Change, StoreError> {
        match self.0.recv().await {
            Ok(change) => Ok(change),
            // Missed some: say anything may have changed, the reader rereads.
            Err(broadcast::error::RecvError::Lagged(_)) => Ok(Change::Unknown),
            Err(broadcast::error::RecvError::Closed) => {
                Err(StoreError::Unavailable("the store was dropped".into()))
            }
        }
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn events_after(
        &self,
        after: i64,
        visibility: Visibility,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let g = self.read();
        let start = usize::try_from(after.max(0)).unwrap_or(usize::MAX);
        Ok(g.log
            .get(start..)
            .unwrap_or_default()
            .iter()
            .map(|&(row, i)| &g.tickets[row as usize].events[i as usize])
            .filter(|e| visibility.sees_event(e))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn last_event_seq(&self) -> Result<i64, StoreError> {
        Ok(self.read().log.len() as i64)
    }

    async fn sequence(&self) -> Result<u64, StoreError> {
        // Positions are given under the write lock as events are written.
        Ok(0)
    }

    async fn listen(&self) -> Result<Box<dyn ChangeListener>, StoreError> {
        Ok(Box::new(Listener(self.changes.subscribe())))
    }

    async fn use_once(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut g = self.write();
        g.used.retain(|_, until| *until > now);
        if g.used.contains_key(nonce) {
            return Ok(false);
        }
        g.used.insert(nonce.to_owned(), expires_at);
        Ok(true)
    }
}
