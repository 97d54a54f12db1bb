//! Notifications: webhook endpoints and customer e-mail, recorded in an outbox in the same
//! atomic step as the change that causes them, and delivered afterwards, at least once, by a
//! background worker on any replica. This module holds the rules: which events notify whom,
//! the retry schedule, and what a delivery record says.

use crate::{
    history::{Event, EventKind, FieldChange, NewEvent},
    ids::TicketId,
    message::Audience,
    secret::Secret,
    status::TicketStatus,
    ticket::Ticket,
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, RngCore};
use serde::Serialize;

/// The event types a webhook endpoint subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Topic {
    /// `ticket.submitted`.
    TicketSubmitted,
    /// `ticket.assigned`.
    TicketAssigned,
    /// `ticket.released`.
    TicketReleased,
    /// `ticket.status_changed`.
    TicketStatusChanged,
    /// `ticket.edited`.
    TicketEdited,
    /// `ticket.message_added` (internal notes too: the body says `visibility`).
    TicketMessageAdded,
    /// `ticket.attachment_added` (internal files too: the body says `visibility`).
    TicketAttachmentAdded,
    /// `ticket.attachment_removed`.
    TicketAttachmentRemoved,
    /// `ticket.stage_changed`.
    TicketStageChanged,
    /// `ticket.quote_sent` (the body carries the whole quote).
    TicketQuoteSent,
    /// `ticket.quote_decided` (the body carries the whole quote with its decision).
    TicketQuoteDecided,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 11] = [
        Self::TicketSubmitted,
        Self::TicketAssigned,
        Self::TicketReleased,
        Self::TicketStatusChanged,
        Self::TicketEdited,
        Self::TicketMessageAdded,
        Self::TicketAttachmentAdded,
        Self::TicketAttachmentRemoved,
        Self::TicketStageChanged,
        Self::TicketQuoteSent,
        Self::TicketQuoteDecided,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TicketSubmitted => "ticket.submitted",
            Self::TicketAssigned => "ticket.assigned",
            Self::TicketReleased => "ticket.released",
            Self::TicketStatusChanged => "ticket.status_changed",
            Self::TicketEdited => "ticket.edited",
            Self::TicketMessageAdded => "ticket.message_added",
            Self::TicketAttachmentAdded => "ticket.attachment_added",
            Self::TicketAttachmentRemoved => "ticket.attachment_removed",
            Self::TicketStageChanged => "ticket.stage_changed",
            Self::TicketQuoteSent => "ticket.quote_sent",
            Self::TicketQuoteDecided => "ticket.quote_decided",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The topic of an event kind (first views notify nobody).
    pub fn of(kind: EventKind) -> Option<Self> {
        match kind {
            EventKind::Submitted => Some(Self::TicketSubmitted),
            EventKind::Assigned => Some(Self::TicketAssigned),
            EventKind::Released => Some(Self::TicketReleased),
            EventKind::StatusChanged => Some(Self::TicketStatusChanged),
            EventKind::Edited => Some(Self::TicketEdited),
            EventKind::MessageAdded => Some(Self::TicketMessageAdded),
            EventKind::AttachmentAdded => Some(Self::TicketAttachmentAdded),
            EventKind::AttachmentRemoved => Some(Self::TicketAttachmentRemoved),
            EventKind::StageChanged => Some(Self::TicketStageChanged),
            EventKind::QuoteSent => Some(Self::TicketQuoteSent),
            EventKind::QuoteDecided => Some(Self::TicketQuoteDecided),
            EventKind::Viewed => None,
        }
    }
}

/// The messages a customer gets about their request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MailKind {
    /// We received it (its number and tracking link).
    Received,
    /// Work has started.
    Started,
    /// It is done: ready for pickup.
    Ready,
    /// Staff wrote to the customer (the message the event names).
    Reply,
    /// The ticket entered a stage that tells the customer (the snapshot names it).
    Stage,
    /// Staff sent a quote to approve (the event names it).
    Quote,
}

impl MailKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Started => "started",
            Self::Ready => "ready",
            Self::Reply => "reply",
            Self::Stage => "stage",
            Self::Quote => "quote",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Received,
            Self::Started,
            Self::Ready,
            Self::Reply,
            Self::Stage,
            Self::Quote,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The message an event sends the customer, if any: the one rule, which every backend
    /// applies to the events it writes ([`NewEvent::mail`]). A message is e-mailed only when
    /// staff wrote it for the customer: never an internal note, never the customer's own.
    /// Entering a stage that tells the customer e-mails its name; a status step that enters
    /// one at the same time sends only that e-mail (one letter, the more precise).
    pub fn of(
        kind: EventKind,
        to_status: Option<TicketStatus>,
        visibility: Option<Audience>,
        by_staff: bool,
        changes: &[FieldChange],
    ) -> Option<Self> {
        let notifying = crate::stage::enters_notifying(changes);
        match (kind, to_status) {
            (EventKind::StageChanged, _) => notifying.then_some(Self::Stage),
            (EventKind::QuoteSent, _) => Some(Self::Quote),
            (EventKind::StatusChanged, _) if notifying => None,
            (EventKind::Submitted, _) => Some(Self::Received),
            (EventKind::StatusChanged, Some(TicketStatus::InProgress)) => Some(Self::Started),
            (EventKind::StatusChanged, Some(TicketStatus::Done)) => Some(Self::Ready),
            (EventKind::MessageAdded, _) if by_staff && visibility == Some(Audience::Customer) => {
                Some(Self::Reply)
            }
            _ => None,
        }
    }
}

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    /// A POST to this webhook endpoint.
    Webhook {
        /// The endpoint.
        endpoint: i64,
        /// What happened.
        topic: Topic,
    },
    /// An e-mail to the ticket's customer.
    Mail(MailKind),
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Delivered (a 2xx answer, or the mail server accepted it).
    Delivered,
    /// Every attempt of the schedule failed (an admin may retry it).
    Failed,
    /// Its endpoint answered 410 Gone: not attempted again until an admin retries it.
    Disabled,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed, Self::Disabled]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One notification in the outbox. Its id is the same on every attempt (the `webhook-id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Identity, stable across attempts.
    pub id: i64,
    /// The event that caused it.
    pub seq: i64,
    /// The ticket.
    pub ticket_id: TicketId,
    /// The message or file the event is about, if it is about one.
    pub item_id: Option<i64>,
    /// The event's audience, for events about messages and files.
    pub visibility: Option<Audience>,
    /// Where it goes.
    pub target: Target,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: DateTime<Utc>,
    /// The body sent, fixed at the first attempt so every retry sends the same.
    pub payload: Option<String>,
    /// The ticket as staff saw it right after the event, taken in the event's own atomic
    /// step: what the notification tells, however the ticket changed since.
    pub ticket: Option<Ticket>,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<u16>,
    /// What went wrong last, if anything.
    pub last_error: Option<String>,
    /// When it was recorded (with its change).
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt so far, oldest first (filled by delivery logs; empty in a claim).
    pub log: Vec<Attempt>,
}

/// One attempt at a delivery, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1 for the first attempt.
    pub number: u32,
    /// When it ended.
    pub at: DateTime<Utc>,
    /// The peer's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// A delivery taken by one worker for one attempt: nobody else takes it until the lease
/// ends, and only this attempt's outcome is accepted
/// ([`crate::store::Outbox::finish_attempt`] is fenced by `delivery.attempts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The delivery, `attempts` already counting this attempt.
    pub delivery: Delivery,
    /// Its endpoint, for webhooks.
    pub endpoint: Option<WebhookEndpoint>,
}

/// A webhook endpoint to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (checked by the caller).
    pub url: String,
    /// What it subscribes to: at least one, no repeats.
    pub topics: Vec<Topic>,
    /// Its signing secret ([`new_secret`]).
    pub secret: Secret,
    /// When it was added.
    pub at: DateTime<Utc>,
}

/// What is waiting in the outbox, for operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// Notifications not yet delivered and still being attempted.
    pub pending: u64,
    /// Notifications whose every attempt failed.
    pub failed: u64,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// The body sent (kept for the retries).
    pub payload: String,
    /// The peer's HTTP status, if any.
    pub status_code: Option<u16>,
    /// What went wrong, if anything (a sentence, never a secret).
    pub error: Option<String>,
    /// The delivery's new state.
    pub next: NextStep,
}

/// What happens to a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Done.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The schedule is used up.
    GiveUp,
    /// The endpoint is gone (410): disable it and its pending deliveries.
    DisableEndpoint,
}

/// The waits after each failed attempt (Standard Webhooks' schedule): 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h; after the last, the delivery has failed.
pub const RETRY_SCHEDULE: [TimeDelta; 7] = [
    TimeDelta::seconds(5),
    TimeDelta::minutes(5),
    TimeDelta::minutes(30),
    TimeDelta::hours(2),
    TimeDelta::hours(5),
    TimeDelta::hours(10),
    TimeDelta::hours(10),
];

/// When to try again after `attempts` failed attempts, or `None` when the schedule is used
/// up. Each wait is spread by up to ±20% so endpoints that failed together are not retried
/// together.
pub fn next_attempt(attempts: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let base = RETRY_SCHEDULE.get(attempts.checked_sub(1)? as usize)?;
    let ms = base.num_milliseconds();
    let jitter = rand::rng().random_range(-(ms / 5)..=ms / 5);
    Some(now + TimeDelta::milliseconds(ms + jitter))
}

/// The longest webhook URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2000;

/// A webhook endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookEndpoint {
    /// Identity.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// What it subscribes to.
    pub topics: Vec<Topic>,
    /// Signing secret, `whsec_` and base64 (only shown when the endpoint is created; never
    /// serialised, and `***` in `Debug`).
    #[serde(skip)]
    pub secret: Secret,
    /// False once it answered 410 Gone.
    pub enabled: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// How its recent attempts went (filled by endpoint lists).
    pub health: EndpointHealth,
}

/// How many attempts [`EndpointHealth::recent_failures`] looks back over.
pub const RECENT_ATTEMPTS: usize = 10;

/// How an endpoint is doing, from its recent delivery attempts, so one that fails every
/// delivery looks failing before its deliveries run out of retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EndpointHealth {
    /// When its latest attempt ended.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a delivery to it last succeeded.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// How many of its last [`RECENT_ATTEMPTS`] attempts failed.
    pub recent_failures: u32,
    /// Whether its latest attempt failed.
    pub failing: bool,
}

/// A new signing secret: `whsec_` and 24 random bytes in base64, as Standard Webhooks has it.
pub fn new_secret() -> Secret {
    let mut key = [0u8; 24];
    rand::rng().fill_bytes(&mut key);
    Secret::new(format!("whsec_{}", STANDARD.encode(key)))
}

impl NewEvent {
    /// The webhook topic this event is delivered under, if any.
    pub fn topic(&self) -> Option<Topic> {
        Topic::of(self.kind())
    }

    /// The customer e-mail this event causes, if any.
    pub fn mail(&self) -> Option<MailKind> {
        MailKind::of(
            self.kind(),
            self.to_status(),
            self.visibility(),
            self.actor_id().is_some(),
            self.changes(),
        )
    }
}

/// The notifications an event causes: one per subscribed enabled endpoint, and the
/// customer's e-mail when the event is one they hear about. (The memory store applies it
/// as it is; PostgreSQL binds [`NewEvent::topic`] and [`NewEvent::mail`] and joins the
/// subscribed endpoints in the event's statement: the same rule, decided here.)
pub fn targets<'a>(
    e: &Event,
    endpoints: impl IntoIterator<Item = &'a WebhookEndpoint>,
) -> Vec<Target> {
    let mut out = Vec::new();
    if let Some(topic) = Topic::of(e.kind) {
        for ep in endpoints
            .into_iter()
            .filter(|ep| ep.enabled && ep.topics.contains(&topic))
        {
            out.push(Target::Webhook {
                endpoint: ep.id,
                topic,
            });
        }
    }
    if let Some(kind) = MailKind::of(
        e.kind,
        e.to_status,
        e.visibility,
        e.actor_id.is_some(),
        &e.changes,
    ) {
        out.push(Target::Mail(kind));
    }
    out
}

/// Deliveries are listed newest first by id alone.
impl crate::page::Positioned for Delivery {
    fn position(&self) -> crate::page::Cursor {
        crate::page::Cursor {
            key: self.id,
            id: self.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spreads_and_ends() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        for (i, base) in RETRY_SCHEDULE.iter().enumerate() {
            let t = next_attempt(i as u32 + 1, now).unwrap() - now;
            let ms = base.num_milliseconds();
            assert!(
                (ms * 4 / 5..=ms * 6 / 5).contains(&t.num_milliseconds()),
                "{i}"
            );
        }
        assert_eq!(next_attempt(8, now), None);
        assert_eq!(next_attempt(0, now), None);
    }

    #[test]
    fn signing_secrets_never_show_in_debug_or_serialised_forms() {
        let secret = new_secret();
        let ep = WebhookEndpoint {
            id: 1,
            url: "https://hooks.example.com/in".into(),
            topics: vec![Topic::TicketSubmitted],
            secret: secret.clone(),
            enabled: true,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            health: EndpointHealth::default(),
        };
        let claim = Claim {
            delivery: Delivery {
                id: 1,
                seq: 1,
                ticket_id: TicketId(1),
                item_id: None,
                visibility: None,
                target: Target::Webhook {
                    endpoint: 1,
                    topic: Topic::TicketSubmitted,
                },
                status: DeliveryStatus::Pending,
                attempts: 1,
                next_attempt_at: DateTime::<Utc>::UNIX_EPOCH,
                payload: None,
                ticket: None,
                last_status: None,
                last_error: None,
                created_at: DateTime::<Utc>::UNIX_EPOCH,
                delivered_at: None,
                log: Vec::new(),
            },
            endpoint: Some(ep.clone()),
        };
        let key = &secret.expose()[6..];
        for shown in [
            format!("{ep:?}"),
            format!("{claim:?}"),
            serde_json::to_string(&ep).unwrap(),
        ] {
            assert!(!shown.contains(key), "{shown}");
        }
        let account = crate::DefaultAccount {
            username: "admin".into(),
            password: "hunter2-hunter2".into(),
            role: crate::Role::Admin,
            must_change_password: false,
        };
        assert!(!format!("{account:?}").contains("hunter2"));
    }

    #[test]
    fn topics_and_secrets() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        assert_eq!(Topic::of(EventKind::Viewed), None);
        let s = new_secret();
        let s = s.expose();
        assert!(s.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s[6..]).unwrap().len(), 24);
        assert_ne!(s, new_secret().expose());
    }
}
