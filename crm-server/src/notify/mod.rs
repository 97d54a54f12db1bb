//! The delivery worker of one replica: takes due notifications from the store's outbox and
//! delivers them, webhooks by HTTP and customer e-mail by SMTP. Every replica runs one; the
//! store's leases keep them from taking the same notification at once, and a notification
//! whose worker died is taken again when its lease ends (at least once, same id).
//!
//! The worker wakes on every new event (through the live-update hub), and at least every
//! [`POLL_EVERY`] for retries that have come due. Each attempt runs as its own task, so one
//! slow receiver never holds up the others, and nothing in the store is held while it runs.

pub mod mail;
pub mod webhook;

use crate::{api::dto::TicketBody, live::Hub};
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{
    Crm, Store, Ticket,
    notify::{AttemptOutcome, Claim, MailKind, NextStep, Target, Topic, next_attempt},
};
use mail::{Mailer, SendError};
use poem_openapi::types::ToJSON;
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    sync::{Semaphore, broadcast::error::TryRecvError},
    task::JoinSet,
};
use webhook::WebhookClient;

/// How long the worker waits after a change before reading the outbox, so a burst of changes
/// costs one read.
const WAKE_GATHER: Duration = Duration::from_millis(20);

/// The longest a due retry waits to be noticed.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long a taken notification is this worker's: longer than any attempt can take
/// ([`webhook::TIMEOUT`], [`mail::TIMEOUT`]), so a lease never ends under a live attempt.
pub const LEASE: TimeDelta = TimeDelta::minutes(2);
/// Attempts in flight at once on one replica.
pub const IN_FLIGHT: usize = 32;

/// Counters operators read.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Attempts that delivered.
    pub delivered: AtomicU64,
    /// Attempts that failed (each retry counts).
    pub failed: AtomicU64,
}

/// What the worker delivers with.
pub struct Notifier<S> {
    crm: Crm<S>,
    webhooks: WebhookClient,
    mail: Option<Mailer>,
    stats: Arc<DeliveryStats>,
}

impl<S: Store> Notifier<S> {
    /// A worker over `crm`'s outbox; without a mailer, customer e-mail is not recorded at all.
    pub fn new(
        crm: Crm<S>,
        webhooks: WebhookClient,
        mail: Option<Mailer>,
        stats: Arc<DeliveryStats>,
    ) -> Self {
        Self {
            crm,
            webhooks,
            mail,
            stats,
        }
    }

    /// Delivers until the hub closes, then waits a little for attempts in flight (an attempt
    /// cut short is taken again by a replica when its lease ends).
    pub async fn run(self, hub: Arc<Hub>) {
        let this = Arc::new(self);
        let mut closing = hub.closing();
        let (mut events, _) = hub.subscribe();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = slots.available_permits();
            let mut took = 0;
            if free > 0 {
                match this.crm.claim_notifications(LEASE, free as u32).await {
                    Ok(claims) => {
                        took = claims.len();
                        for claim in claims {
                            let permit = slots.clone().acquire_owned().await.expect("never closed");
                            let this = this.clone();
                            running.spawn(async move {
                                this.attempt(claim).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "notifications: cannot read the outbox"),
                }
            }
            if took == free && free > 0 {
                continue; // there may be more due
            }
            tokio::select! {
                _ = closing.changed() => break,
                _ = events.recv() => {
                    // One read of the outbox for a burst of changes, not one per change:
                    // gather what arrives within a moment, then drop what is queued.
                    tokio::time::sleep(WAKE_GATHER).await;
                    while !matches!(events.try_recv(), Err(TryRecvError::Empty | TryRecvError::Closed)) {}
                }
                () = tokio::time::sleep(POLL_EVERY) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), async {
            while running.join_next().await.is_some() {}
        })
        .await;
    }

    /// One attempt at one notification, and its outcome recorded. What it tells is the
    /// ticket as the event left it (taken with the event), so no attempt reads the ticket
    /// and a retry sends the same.
    async fn attempt(&self, claim: Claim) {
        let d = &claim.delivery;
        let Some(ticket) = d.ticket.clone() else {
            tracing::warn!(
                delivery = d.id,
                "notifications: a delivery without its ticket"
            );
            return;
        };
        let Some((payload, status_code, result)) = self.deliver(&claim, ticket).await else {
            return;
        };
        self.record(&claim, payload, status_code, result).await;
    }

    /// Sends one notification: the body sent (or the mail's kind), the peer's HTTP status,
    /// and how it went. `None` when there is nothing to send it to.
    async fn deliver(
        &self,
        claim: &Claim,
        ticket: Ticket,
    ) -> Option<(String, Option<u16>, Result<(), (String, Failure)>)> {
        let d = &claim.delivery;
        // The message or file a delivery is about: read once it is needed (messages never
        // change; a file's metadata neither, and a removed one is named by its id alone).
        let about = match (d.target, d.item_id) {
            (Target::Webhook { .. }, _) if d.payload.is_some() => None,
            (
                Target::Webhook {
                    topic: Topic::TicketAttachmentAdded,
                    ..
                },
                Some(id),
            ) => {
                match self.crm.attachment_for_notification(ticket.id, id).await {
                    Ok(a) => Some(Item::Attachment(a.into())),
                    // Removed before this delivery: the body names it by id.
                    Err(_) => Some(Item::AttachmentId(id)),
                }
            }
            (
                Target::Webhook {
                    topic: Topic::TicketAttachmentRemoved,
                    ..
                },
                Some(id),
            ) => Some(Item::AttachmentId(id)),
            (
                Target::Webhook {
                    topic: Topic::TicketQuoteSent | Topic::TicketQuoteDecided,
                    ..
                }
                | Target::Mail(MailKind::Quote),
                Some(id),
            ) => match self
                .crm
                .quote_for_notification(ticket.id, crm_core::QuoteId(id))
                .await
            {
                Ok(q) => Some(Item::Quote(Box::new(q))),
                Err(e) => {
                    tracing::warn!(delivery = d.id, error = %e, "notifications: cannot read the quote");
                    return None;
                }
            },
            (_, Some(id)) if d.visibility.is_some() => {
                match self.crm.message_for_notification(id).await {
                    Ok(m) => Some(Item::Message(m)),
                    Err(e) => {
                        tracing::warn!(delivery = d.id, error = %e, "notifications: cannot read the message");
                        return None;
                    }
                }
            }
            _ => None,
        };
        let note = match &about {
            Some(Item::Message(m)) => Some(m.clone()),
            _ => None,
        };
        let quote = match &about {
            Some(Item::Quote(q)) => Some((**q).clone()),
            _ => None,
        };
        Some(match d.target {
            Target::Webhook { topic, .. } => {
                let payload = d.payload.clone().unwrap_or_else(|| {
                    webhook_body(topic, d.created_at, d.seq, ticket, d.visibility, about)
                });
                let ep = claim.endpoint.as_ref()?;
                let a = self
                    .webhooks
                    .post(
                        &ep.url,
                        ep.secret.expose(),
                        &format!("msg_{}", d.id),
                        &payload,
                    )
                    .await;
                let result = match (a.status, a.error) {
                    (_, None) => Ok(()),
                    (Some(410), Some(e)) => Err((e, Failure::Gone)),
                    (_, Some(e)) => Err((e, Failure::Retry)),
                };
                (payload, a.status, result)
            }
            Target::Mail(kind) => {
                let result = match &self.mail {
                    None => Err((
                        "no mail server is configured on this replica (SMTP_URL)".to_owned(),
                        Failure::Retry,
                    )),
                    Some(m) => match m
                        .send(d.id, kind, &ticket, note.as_ref(), quote.as_ref())
                        .await
                    {
                        Ok(()) => Ok(()),
                        Err(SendError::Transient(e)) => Err((e, Failure::Retry)),
                        Err(SendError::Permanent(e)) => Err((e, Failure::Permanent)),
                    },
                };
                (kind.as_str().to_owned(), None, result)
            }
        })
    }

    /// Records how an attempt went, and what happens to the notification next.
    async fn record(
        &self,
        claim: &Claim,
        payload: String,
        status_code: Option<u16>,
        result: Result<(), (String, Failure)>,
    ) {
        let d = &claim.delivery;
        let now = Utc::now();
        let (next, error) = match result {
            Ok(()) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                (NextStep::Delivered, None)
            }
            Err((e, how)) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(delivery = d.id, attempt = d.attempts, error = %e, "notification attempt failed");
                let next = match how {
                    Failure::Gone => NextStep::DisableEndpoint,
                    Failure::Permanent => NextStep::GiveUp,
                    Failure::Retry => {
                        next_attempt(d.attempts, now).map_or(NextStep::GiveUp, NextStep::RetryAt)
                    }
                };
                (next, Some(e))
            }
        };
        let outcome = AttemptOutcome {
            at: now,
            payload,
            status_code,
            error,
            next,
        };
        match self.crm.finish_notification(claim, outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::info!(delivery = d.id, "notification attempt overtaken"),
            Err(e) => {
                tracing::warn!(error = %e, delivery = d.id, "notifications: cannot record an attempt")
            }
        }
    }
}

enum Failure {
    /// 410 Gone: the receiver asks us to stop.
    Gone,
    /// Never going to work (a refused address).
    Permanent,
    /// Worth another try on the schedule.
    Retry,
}

/// What a delivery about a message or a file adds to its ticket.
pub enum Item {
    /// The message (`data.message`).
    Message(crm_core::Message),
    /// The file's metadata (`data.attachment`).
    Attachment(crate::api::dto::AttachmentBody),
    /// A file no longer there (`data.attachment_id`).
    AttachmentId(i64),
    /// The whole quote (`data.quote`), so an accounting tool can invoice it.
    Quote(Box<crm_core::Quote>),
}

/// The body of a webhook delivery: `{"type", "timestamp", "data": {ticket, "seq"}}`, the
/// ticket as staff saw it right after the event.
pub fn webhook_body(
    topic: Topic,
    at: DateTime<Utc>,
    seq: i64,
    ticket: Ticket,
    visibility: Option<crm_core::Audience>,
    item: Option<Item>,
) -> String {
    let mut data = TicketBody::from(ticket)
        .to_json()
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = data.as_object_mut() {
        map.insert("seq".into(), seq.into());
        if let Some(v) = visibility {
            map.insert("visibility".into(), v.as_str().into());
        }
        match item {
            Some(Item::Message(m)) => {
                if let Some(m) = crate::api::dto::MessageBody::from(m).to_json() {
                    map.insert("message".into(), m);
                }
            }
            Some(Item::Attachment(a)) => {
                if let Some(a) = a.to_json() {
                    map.insert("attachment_id".into(), a["id"].clone());
                    map.insert("attachment".into(), a);
                }
            }
            Some(Item::AttachmentId(id)) => {
                map.insert("attachment_id".into(), id.into());
            }
            Some(Item::Quote(q)) => {
                // The quote as the event left it.
                if let Some(q) = crate::api::dto::QuoteBody::at(&q.as_of(at), at).to_json() {
                    map.insert("quote".into(), q);
                }
            }
            None => {}
        }
    }
    serde_json::json!({
        "type": topic.as_str(),
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_webhook_carries_its_visibility_and_the_whole_message() {
        let t = mail::tests::ticket();
        let m = crm_core::Message {
            id: 9,
            ticket_id: t.id,
            body: "Ordered the part".into(),
            visibility: crm_core::Audience::Internal,
            author: crm_core::Author {
                user_id: Some(crm_core::UserId(2)),
                name: "worker".into(),
            },
            created_at: Utc::now(),
        };
        let body: serde_json::Value = serde_json::from_str(&webhook_body(
            Topic::TicketMessageAdded,
            Utc::now(),
            5,
            t,
            Some(crm_core::Audience::Internal),
            Some(Item::Message(m)),
        ))
        .unwrap();
        assert_eq!(body["type"], "ticket.message_added");
        let data = &body["data"];
        assert_eq!(
            (data["id"].as_i64(), data["seq"].as_i64()),
            (Some(42), Some(5))
        );
        assert_eq!(data["visibility"], "internal");
        assert_eq!(data["message"]["body"], "Ordered the part");
        assert_eq!(data["message"]["author"]["kind"], "staff");
        assert_eq!(data["message"]["visibility"], "internal");
        // Other kinds say nothing of a message.
        let plain: serde_json::Value = serde_json::from_str(&webhook_body(
            Topic::TicketSubmitted,
            Utc::now(),
            1,
            mail::tests::ticket(),
            None,
            None,
        ))
        .unwrap();
        assert!(
            plain["data"].get("visibility").is_none() && plain["data"].get("message").is_none()
        );
    }
}
