//! The outbox in memory: notifications are recorded by [`Inner::push_event`](crate::Inner)
//! under the same lock as their change, and kept in a due-time index that workers take from.
//! Like everything in this store it lives only as long as the process: notifications not yet
//! delivered at shutdown are lost.

use crate::MemoryStore;
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{
    Event, StoreError, Ticket, TicketId,
    notify::{
        Attempt, AttemptOutcome, Backlog, Claim, Delivery, DeliveryStatus, EndpointHealth,
        NewWebhook, NextStep, RECENT_ATTEMPTS, Target, WebhookEndpoint, targets,
    },
    page::{Page, PageRequest},
    store::Outbox,
};
use hashbrown::HashMap;
use std::collections::{BTreeMap, BTreeSet};

/// Endpoints, deliveries and the indexes workers and logs read.
#[derive(Default)]
pub(crate) struct OutboxState {
    endpoints: BTreeMap<i64, WebhookEndpoint>,
    next_endpoint: i64,
    deliveries: BTreeMap<i64, Delivery>,
    next_delivery: i64,
    /// Pending deliveries by when they are due (in-flight ones by when their lease ends).
    due: BTreeSet<(DateTime<Utc>, i64)>,
    /// Each endpoint's deliveries, oldest first.
    by_endpoint: HashMap<i64, Vec<i64>>,
    /// Each ticket's pending e-mails, so they are sent in order.
    mail_pending: HashMap<TicketId, BTreeSet<i64>>,
    failed: u64,
    mail_on: bool,
}

impl OutboxState {
    /// Whether any change could cause a notification now (so the caller takes a snapshot).
    pub(crate) fn wanted(&self) -> bool {
        !self.endpoints.is_empty() || self.mail_on
    }

    /// Records the notifications `event` causes, each telling `ticket` as the event left it;
    /// called in the event's own critical section.
    pub(crate) fn record(&mut self, event: &Event, ticket: Ticket) {
        for target in targets(event, self.endpoints.values()) {
            if matches!(target, Target::Mail(_)) && !self.mail_on {
                continue;
            }
            self.next_delivery += 1;
            let id = self.next_delivery;
            match target {
                Target::Webhook { endpoint, .. } => {
                    self.by_endpoint.entry(endpoint).or_default().push(id)
                }
                Target::Mail(_) => {
                    self.mail_pending
                        .entry(event.ticket_id)
                        .or_default()
                        .insert(id);
                }
            }
            self.due.insert((event.at, id));
            self.deliveries.insert(
                id,
                Delivery {
                    id,
                    seq: event.seq,
                    ticket_id: event.ticket_id,
                    item_id: event.item_id,
                    visibility: event.visibility,
                    target,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: event.at,
                    payload: None,
                    ticket: Some(ticket.clone()),
                    last_status: None,
                    last_error: None,
                    created_at: event.at,
                    delivered_at: None,
                    log: Vec::new(),
                },
            );
        }
    }

    /// Takes a delivery out of the pending indexes as it leaves `pending`.
    fn settle(&mut self, id: i64, status: DeliveryStatus) {
        let Some(d) = self.deliveries.get_mut(&id) else {
            return;
        };
        if d.status == DeliveryStatus::Pending {
            self.due.remove(&(d.next_attempt_at, id));
            if let Target::Mail(_) = d.target {
                if let Some(set) = self.mail_pending.get_mut(&d.ticket_id) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.mail_pending.remove(&d.ticket_id);
                    }
                }
            }
        } else if d.status == DeliveryStatus::Failed {
            self.failed -= 1;
        }
        if status == DeliveryStatus::Failed {
            self.failed += 1;
        }
        d.status = status;
    }

    /// How an endpoint's recent attempts went.
    fn health(&self, endpoint: i64) -> EndpointHealth {
        let mut attempts: Vec<&Attempt> = self
            .by_endpoint
            .get(&endpoint)
            .into_iter()
            .flatten()
            .flat_map(|id| self.deliveries[id].log.iter())
            .collect();
        attempts.sort_by_key(|a| std::cmp::Reverse(a.at));
        let recent = &attempts[..attempts.len().min(RECENT_ATTEMPTS)];
        EndpointHealth {
            last_attempt_at: recent.first().map(|a| a.at),
            last_delivered_at: self
                .by_endpoint
                .get(&endpoint)
                .into_iter()
                .flatten()
                .filter_map(|id| self.deliveries[id].delivered_at)
                .max(),
            recent_failures: recent.iter().filter(|a| a.error.is_some()).count() as u32,
            failing: recent.first().is_some_and(|a| a.error.is_some()),
        }
    }

    /// Whether an earlier e-mail of the same ticket is still pending.
    fn waits_for_earlier_mail(&self, d: &Delivery) -> bool {
        matches!(d.target, Target::Mail(_))
            && self
                .mail_pending
                .get(&d.ticket_id)
                .and_then(|s| s.first())
                .is_some_and(|&first| first < d.id)
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn create_webhook(&self, new: NewWebhook) -> Result<WebhookEndpoint, StoreError> {
        let mut g = self.write();
        let o = &mut g.outbox;
        o.next_endpoint += 1;
        let ep = WebhookEndpoint {
            id: o.next_endpoint,
            url: new.url,
            topics: new.topics,
            secret: new.secret,
            enabled: true,
            created_at: new.at,
            health: EndpointHealth::default(),
        };
        o.endpoints.insert(ep.id, ep.clone());
        Ok(ep)
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let g = self.read();
        let o = &g.outbox;
        Ok(o.endpoints
            .values()
            .map(|ep| WebhookEndpoint {
                health: o.health(ep.id),
                ..ep.clone()
            })
            .collect())
    }

    async fn delete_webhook(&self, id: i64) -> Result<(), StoreError> {
        let mut g = self.write();
        let o = &mut g.outbox;
        o.endpoints.remove(&id).ok_or(StoreError::NotFound)?;
        for d in o.by_endpoint.remove(&id).unwrap_or_default() {
            o.settle(d, DeliveryStatus::Disabled);
            o.deliveries.remove(&d);
        }
        Ok(())
    }

    async fn deliveries(
        &self,
        endpoint: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let g = self.read();
        let o = &g.outbox;
        if !o.endpoints.contains_key(&endpoint) {
            return Err(StoreError::NotFound);
        }
        let ids = o.by_endpoint.get(&endpoint).map_or(&[][..], |v| &v[..]);
        // Ids grow, so the ones before a cursor are a prefix.
        let before = page
            .cursor()
            .map_or(ids.len(), |c| ids.partition_point(|&id| id < c.id));
        let items = ids[..before]
            .iter()
            .rev()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(page.fetch_limit() as usize)
            .map(|id| o.deliveries[id].clone())
            .collect();
        Ok(page.page_of(items, ids.len() as u64))
    }

    async fn retry_delivery(
        &self,
        endpoint: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let mut g = self.write();
        let o = &mut g.outbox;
        let d = o
            .deliveries
            .get(&id)
            .filter(|d| matches!(d.target, Target::Webhook { endpoint: e, .. } if e == endpoint))
            .ok_or(StoreError::NotFound)?;
        if d.status == DeliveryStatus::Pending {
            return Err(StoreError::Stale);
        }
        o.settle(id, DeliveryStatus::Pending);
        let d = o.deliveries.get_mut(&id).expect("checked above");
        d.next_attempt_at = at;
        let d = d.clone();
        o.due.insert((at, id));
        if let Some(ep) = o.endpoints.get_mut(&endpoint) {
            ep.enabled = true;
        }
        Ok(d)
    }

    async fn set_mail_enabled(&self, on: bool) -> Result<(), StoreError> {
        self.write().outbox.mail_on = on;
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut g = self.write();
        let o = &mut g.outbox;
        let mut taken = Vec::new();
        for &(at, id) in &o.due {
            if at > now || taken.len() >= limit as usize {
                break;
            }
            if !o.waits_for_earlier_mail(&o.deliveries[&id]) {
                taken.push((at, id));
            }
        }
        let until = now + lease;
        let mut claims = Vec::with_capacity(taken.len());
        for key in taken {
            o.due.remove(&key);
            o.due.insert((until, key.1));
            let d = o
                .deliveries
                .get_mut(&key.1)
                .expect("indexed deliveries exist");
            d.attempts += 1;
            d.next_attempt_at = until;
            let mut delivery = d.clone();
            delivery.log.clear();
            let endpoint = match d.target {
                Target::Webhook { endpoint, .. } => o.endpoints.get(&endpoint).cloned(),
                Target::Mail(_) => None,
            };
            claims.push(Claim { delivery, endpoint });
        }
        Ok(claims)
    }

    async fn finish_attempt(
        &self,
        id: i64,
        attempt: u32,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let mut g = self.write();
        let o = &mut g.outbox;
        let Some(d) = o.deliveries.get_mut(&id) else {
            return Ok(false);
        };
        if d.status != DeliveryStatus::Pending || d.attempts != attempt {
            return Ok(false);
        }
        d.log.push(Attempt {
            number: attempt,
            at: outcome.at,
            status_code: outcome.status_code,
            error: outcome.error.clone(),
        });
        d.payload.get_or_insert(outcome.payload);
        d.last_status = outcome.status_code;
        d.last_error = outcome.error;
        let target = d.target;
        match outcome.next {
            NextStep::Delivered => {
                d.delivered_at = Some(outcome.at);
                o.settle(id, DeliveryStatus::Delivered);
            }
            NextStep::RetryAt(t) => {
                o.due.remove(&(d.next_attempt_at, id));
                d.next_attempt_at = t;
                o.due.insert((t, id));
            }
            NextStep::GiveUp => o.settle(id, DeliveryStatus::Failed),
            NextStep::DisableEndpoint => {
                let Target::Webhook { endpoint, .. } = target else {
                    o.settle(id, DeliveryStatus::Failed);
                    return Ok(true);
                };
                if let Some(ep) = o.endpoints.get_mut(&endpoint) {
                    ep.enabled = false;
                }
                let pending: Vec<i64> = o
                    .by_endpoint
                    .get(&endpoint)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|i| o.deliveries[i].status == DeliveryStatus::Pending)
                    .collect();
                for i in pending {
                    o.settle(i, DeliveryStatus::Disabled);
                }
            }
        }
        Ok(true)
    }

    async fn outbox_backlog(&self) -> Result<Backlog, StoreError> {
        let g = self.read();
        Ok(Backlog {
            pending: g.outbox.due.len() as u64,
            failed: g.outbox.failed,
        })
    }
}
