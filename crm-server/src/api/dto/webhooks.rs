//! Webhook endpoints and their delivery logs.

use super::Text;
use chrono::{DateTime, Utc};
use crm_core::notify::{Attempt, Delivery, DeliveryStatus, Target, Topic, WebhookEndpoint};
use poem_openapi::{Enum, Object, types::Example};

/// An event type a webhook endpoint subscribes to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTypeBody {
    /// A customer submitted a request.
    #[oai(rename = "ticket.submitted")]
    TicketSubmitted,
    /// A request was assigned to a worker (by an admin or automatically).
    #[oai(rename = "ticket.assigned")]
    TicketAssigned,
    /// A request went back to the queue because its worker was deleted.
    #[oai(rename = "ticket.released")]
    TicketReleased,
    /// A request's status changed.
    #[oai(rename = "ticket.status_changed")]
    TicketStatusChanged,
    /// A request's title, description, device, priority or due date was corrected.
    #[oai(rename = "ticket.edited")]
    TicketEdited,
    /// A message was written on a request: an internal note or one with the customer (the
    /// body says `visibility`).
    #[oai(rename = "ticket.message_added")]
    TicketMessageAdded,
    /// A file was added to a request (the body says `visibility` and carries the file's
    /// metadata as `attachment`).
    #[oai(rename = "ticket.attachment_added")]
    TicketAttachmentAdded,
    /// An admin removed a file from a request.
    #[oai(rename = "ticket.attachment_removed")]
    TicketAttachmentRemoved,
    /// A request moved to another stage, or out of one (the ticket's `stage` is the one
    /// entered, null for none).
    #[oai(rename = "ticket.stage_changed")]
    TicketStageChanged,
    /// Staff sent a quote to the customer (the body carries the whole quote as `quote`).
    #[oai(rename = "ticket.quote_sent")]
    TicketQuoteSent,
    /// The customer approved or declined a quote (the body carries the whole quote with its
    /// decision as `quote`).
    #[oai(rename = "ticket.quote_decided")]
    TicketQuoteDecided,
}

impl From<Topic> for EventTypeBody {
    fn from(t: Topic) -> Self {
        match t {
            Topic::TicketSubmitted => Self::TicketSubmitted,
            Topic::TicketAssigned => Self::TicketAssigned,
            Topic::TicketReleased => Self::TicketReleased,
            Topic::TicketStatusChanged => Self::TicketStatusChanged,
            Topic::TicketEdited => Self::TicketEdited,
            Topic::TicketMessageAdded => Self::TicketMessageAdded,
            Topic::TicketAttachmentAdded => Self::TicketAttachmentAdded,
            Topic::TicketAttachmentRemoved => Self::TicketAttachmentRemoved,
            Topic::TicketStageChanged => Self::TicketStageChanged,
            Topic::TicketQuoteSent => Self::TicketQuoteSent,
            Topic::TicketQuoteDecided => Self::TicketQuoteDecided,
        }
    }
}

impl From<EventTypeBody> for Topic {
    fn from(t: EventTypeBody) -> Self {
        match t {
            EventTypeBody::TicketSubmitted => Self::TicketSubmitted,
            EventTypeBody::TicketAssigned => Self::TicketAssigned,
            EventTypeBody::TicketReleased => Self::TicketReleased,
            EventTypeBody::TicketStatusChanged => Self::TicketStatusChanged,
            EventTypeBody::TicketEdited => Self::TicketEdited,
            EventTypeBody::TicketMessageAdded => Self::TicketMessageAdded,
            EventTypeBody::TicketAttachmentAdded => Self::TicketAttachmentAdded,
            EventTypeBody::TicketAttachmentRemoved => Self::TicketAttachmentRemoved,
            EventTypeBody::TicketStageChanged => Self::TicketStageChanged,
            EventTypeBody::TicketQuoteSent => Self::TicketQuoteSent,
            EventTypeBody::TicketQuoteDecided => Self::TicketQuoteDecided,
        }
    }
}

// The request's `max_items` is the number of event types: a new type must raise it.
const _: () = assert!(Topic::ALL.len() == 11);

/// A webhook endpoint to add.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct WebhookRequest {
    /// An `http` or `https` URL, at most 2000 characters, with no user name or password.
    /// Hosts that resolve to loopback, private or link-local addresses are refused unless
    /// listed in `WEBHOOK_ALLOW_HOSTS`.
    pub url: Text,
    /// The event types to deliver: at least one, each at most once (up to every type there is).
    #[oai(validator(min_items = 1, max_items = 11))]
    pub events: Vec<EventTypeBody>,
}

impl Example for WebhookRequest {
    fn example() -> Self {
        Self {
            url: "https://hooks.example.com/repair-crm".into(),
            events: vec![
                EventTypeBody::TicketSubmitted,
                EventTypeBody::TicketStatusChanged,
            ],
        }
    }
}

/// A webhook endpoint.
#[derive(Object, Debug)]
pub struct WebhookBody {
    /// Identity.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types delivered.
    pub events: Vec<EventTypeBody>,
    /// False once the endpoint answered 410 Gone; retrying one of its deliveries enables it.
    pub enabled: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// Whether its latest attempt failed: an endpoint failing every delivery shows it here
    /// long before its deliveries run out of retries.
    pub failing: bool,
    /// How many of its last 10 attempts failed.
    pub recent_failures: u32,
    /// When its latest attempt ended.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a delivery to it last succeeded.
    pub last_delivered_at: Option<DateTime<Utc>>,
}

impl From<WebhookEndpoint> for WebhookBody {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            events: e.topics.into_iter().map(Into::into).collect(),
            enabled: e.enabled,
            created_at: e.created_at,
            failing: e.health.failing,
            recent_failures: e.health.recent_failures,
            last_attempt_at: e.health.last_attempt_at,
            last_delivered_at: e.health.last_delivered_at,
        }
    }
}

/// A webhook endpoint just added, with its signing secret (shown this once).
#[derive(Object, Debug)]
pub struct CreatedWebhookBody {
    /// Identity.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types delivered.
    pub events: Vec<EventTypeBody>,
    /// True.
    pub enabled: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// `whsec_` and base64: verify each delivery's `webhook-signature` with it (Standard
    /// Webhooks). It is never shown again.
    pub secret: String,
}

impl From<WebhookEndpoint> for CreatedWebhookBody {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            secret: e.secret.expose().to_owned(),
            id: e.id,
            url: e.url,
            events: e.topics.into_iter().map(Into::into).collect(),
            enabled: e.enabled,
            created_at: e.created_at,
        }
    }
}

/// Every webhook endpoint, oldest first.
#[derive(Object, Debug)]
pub struct WebhookList {
    /// The endpoints.
    pub items: Vec<WebhookBody>,
}

/// Where a delivery stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatusBody {
    /// Waiting for its next attempt, or being attempted.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt of the schedule failed.
    Failed,
    /// The endpoint answered 410 Gone.
    Disabled,
}

impl From<DeliveryStatus> for DeliveryStatusBody {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Delivered => Self::Delivered,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Disabled => Self::Disabled,
        }
    }
}

/// One attempt at a delivery.
#[derive(Object, Debug)]
pub struct AttemptBody {
    /// 1 for the first.
    pub number: u32,
    /// When it ended.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

impl From<Attempt> for AttemptBody {
    fn from(a: Attempt) -> Self {
        Self {
            number: a.number,
            at: a.at,
            status_code: a.status_code,
            error: a.error,
        }
    }
}

/// One notification to one endpoint, with every attempt.
#[derive(Object, Debug)]
pub struct DeliveryBody {
    /// Identity; the `webhook-id` header is `msg_` and this number, the same on every attempt.
    pub id: i64,
    /// The event type.
    pub event_type: EventTypeBody,
    /// The event's position in the global order (also `data.seq` in the body).
    pub seq: i64,
    /// The request it is about.
    pub ticket_id: i64,
    /// Where it stands.
    pub status: DeliveryStatusBody,
    /// Attempts so far.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt, if it answered.
    pub last_status: Option<u16>,
    /// What went wrong at the last attempt, if anything.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub log: Vec<AttemptBody>,
}

impl DeliveryBody {
    /// The body of a webhook delivery (`None` for a customer e-mail, which no log lists).
    pub fn of_webhook(d: Delivery) -> Option<Self> {
        let Target::Webhook { topic, .. } = d.target else {
            return None;
        };
        Some(Self {
            event_type: topic.into(),
            id: d.id,
            seq: d.seq,
            ticket_id: d.ticket_id.0,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            log: d.log.into_iter().map(Into::into).collect(),
        })
    }
}
