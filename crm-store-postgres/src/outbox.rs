//! The outbox on PostgreSQL. Rows are written by the statement of the events that cause them
//! (`record.rs`), each with the ticket as that statement left it. Workers take due rows with
//! `FOR UPDATE SKIP LOCKED`, push their `next_attempt_at` past a lease and count the attempt
//! in the same statement, and commit before talking to any peer: no row lock or connection is
//! held while a webhook receiver or mail server answers. An outcome is written only while the
//! row is still at the attempt it reports.

use crate::{PgStore, error::DbResult, rows::TicketRow};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use crm_core::{
    Secret, StoreError, TicketId,
    notify::{
        Attempt, AttemptOutcome, Backlog, Claim, Delivery, DeliveryStatus, EndpointHealth,
        MailKind, NewWebhook, NextStep, RECENT_ATTEMPTS, Target, Topic, WebhookEndpoint,
    },
    page::{Page, PageRequest},
    store::Outbox,
};
use sqlx::FromRow;

const ENDPOINT_COLUMNS: &str = "id, url, topics, secret, enabled, created_at";
/// The columns of a [`DeliveryRow`], of `outbox o` left joined with its event's position
/// `event_positions p` (a notification is claimed only once its event has one).
const DELIVERY_COLUMNS: &str = "o.id, coalesce(p.seq, 0) AS seq, o.ticket_id, o.endpoint_id, \
    o.topic, o.mail_kind, o.status, o.attempts, o.next_attempt_at, o.payload, o.last_status, \
    o.last_error, o.created_at, o.delivered_at, o.snapshot, o.visibility, o.item_id";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("unknown {what} {value:?} in the outbox").into())
}

#[derive(FromRow)]
struct EndpointRow {
    id: i64,
    url: String,
    topics: Vec<String>,
    secret: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<EndpointRow> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(r: EndpointRow) -> Result<Self, StoreError> {
        let topics = r
            .topics
            .iter()
            .map(|t| Topic::parse(t).ok_or_else(|| corrupt("topic", t)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: r.id,
            url: r.url,
            topics,
            secret: Secret::new(r.secret),
            enabled: r.enabled,
            created_at: r.created_at,
            health: EndpointHealth::default(),
        })
    }
}

#[derive(FromRow)]
struct DeliveryRow {
    id: i64,
    seq: i64,
    ticket_id: i64,
    endpoint_id: Option<i64>,
    topic: Option<String>,
    mail_kind: Option<String>,
    status: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    payload: Option<String>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    snapshot: Option<sqlx::types::Json<TicketRow>>,
    visibility: Option<String>,
    item_id: Option<i64>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let target = match (r.endpoint_id, r.topic.as_deref(), r.mail_kind.as_deref()) {
            (Some(endpoint), Some(t), None) => Target::Webhook {
                endpoint,
                topic: Topic::parse(t).ok_or_else(|| corrupt("topic", t))?,
            },
            (None, None, Some(k)) => {
                Target::Mail(MailKind::parse(k).ok_or_else(|| corrupt("mail kind", k))?)
            }
            _ => return Err(corrupt("target of delivery", &r.id.to_string())),
        };
        Ok(Self {
            id: r.id,
            seq: r.seq,
            ticket_id: TicketId(r.ticket_id),
            item_id: r.item_id,
            visibility: r
                .visibility
                .as_deref()
                .map(crate::rows::audience)
                .transpose()?,
            target,
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| corrupt("delivery status", &r.status))?,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            next_attempt_at: r.next_attempt_at,
            payload: r.payload,
            ticket: r.snapshot.map(|s| s.0.try_into()).transpose()?,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            log: Vec::new(),
        })
    }
}

#[derive(FromRow)]
struct AttemptRow {
    delivery_id: i64,
    number: i32,
    at: DateTime<Utc>,
    status_code: Option<i32>,
    error: Option<String>,
}

#[async_trait]
impl Outbox for PgStore {
    #[tracing::instrument(skip_all)]
    async fn create_webhook(&self, new: NewWebhook) -> Result<WebhookEndpoint, StoreError> {
        let topics: Vec<&str> = new.topics.iter().map(|t| t.as_str()).collect();
        let row: EndpointRow = sqlx::query_as(&format!(
            "INSERT INTO webhook_endpoints (url, topics, secret, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {ENDPOINT_COLUMNS}"
        ))
        .bind(&new.url)
        .bind(&topics)
        .bind(new.secret.expose())
        .bind(new.at)
        .fetch_one(&mut *self.conn().await?)
        .await
        .db(self)?;
        row.try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        #[derive(FromRow)]
        struct ListedEndpoint {
            #[sqlx(flatten)]
            endpoint: EndpointRow,
            last_attempt_at: Option<DateTime<Utc>>,
            last_delivered_at: Option<DateTime<Utc>>,
            recent_failures: i64,
            last_failed: Option<bool>,
        }
        // Each endpoint's last attempts (the delivery log's index: outbox by endpoint, then
        // the attempts of each delivery).
        let rows: Vec<ListedEndpoint> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS}, h.last_attempt_at, h.recent_failures, h.last_failed, \
                    (SELECT max(o.delivered_at) FROM outbox o WHERE o.endpoint_id = w.id) \
                        AS last_delivered_at \
             FROM webhook_endpoints w CROSS JOIN LATERAL ( \
                 SELECT max(a.at) AS last_attempt_at, \
                        count(*) FILTER (WHERE a.error IS NOT NULL) AS recent_failures, \
                        (array_agg(a.error IS NOT NULL ORDER BY a.at DESC))[1] AS last_failed \
                 FROM (SELECT a.at, a.error FROM outbox o \
                       JOIN outbox_attempts a ON a.delivery_id = o.id \
                       WHERE o.endpoint_id = w.id ORDER BY a.at DESC LIMIT $1) a) h \
             ORDER BY w.id"
        ))
        .bind(RECENT_ATTEMPTS as i64)
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        rows.into_iter()
            .map(|r| {
                let mut ep = WebhookEndpoint::try_from(r.endpoint)?;
                ep.health = EndpointHealth {
                    last_attempt_at: r.last_attempt_at,
                    last_delivered_at: r.last_delivered_at,
                    recent_failures: u32::try_from(r.recent_failures).unwrap_or(0),
                    failing: r.last_failed.unwrap_or(false),
                };
                Ok(ep)
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_webhook(&self, id: i64) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await
            .db(self)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn deliveries(
        &self,
        endpoint: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        // One snapshot for the count and the page.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .db(self)?;
        let total: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM outbox WHERE endpoint_id = w.id) \
             FROM webhook_endpoints w WHERE w.id = $1",
        )
        .bind(endpoint)
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let total = total.ok_or(StoreError::NotFound)?;
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM outbox o \
             LEFT JOIN event_positions p ON p.event_id = o.event_id WHERE o.endpoint_id = $1 \
             AND ($4::bigint IS NULL OR o.id < $4) ORDER BY o.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(endpoint)
        .bind(i64::from(page.fetch_limit()))
        .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
        .bind(page.cursor().map(|c| c.id))
        .fetch_all(&mut *tx)
        .await
        .db(self)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let attempts: Vec<AttemptRow> = sqlx::query_as(
            "SELECT delivery_id, number, at, status_code, error FROM outbox_attempts \
             WHERE delivery_id = ANY($1) ORDER BY delivery_id, number",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)?;
        let mut items: Vec<Delivery> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        for a in attempts {
            if let Some(d) = items.iter_mut().find(|d| d.id == a.delivery_id) {
                d.log.push(Attempt {
                    number: u32::try_from(a.number).unwrap_or(0),
                    at: a.at,
                    status_code: a.status_code.and_then(|s| u16::try_from(s).ok()),
                    error: a.error,
                });
            }
        }
        Ok(page.page_of(items, u64::try_from(total).unwrap_or(0)))
    }

    #[tracing::instrument(skip_all)]
    async fn retry_delivery(
        &self,
        endpoint: i64,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<Delivery, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let row: Option<DeliveryRow> = sqlx::query_as(&format!(
            "WITH o AS (UPDATE outbox SET status = 'pending', next_attempt_at = $3 \
                 WHERE id = $2 AND endpoint_id = $1 AND status <> 'pending' RETURNING *) \
             SELECT {DELIVERY_COLUMNS} FROM o LEFT JOIN event_positions p ON p.event_id = o.event_id"
        ))
        .bind(endpoint)
        .bind(id)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let Some(row) = row else {
            let exists: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $2 AND endpoint_id = $1)",
            )
            .bind(endpoint)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .db(self)?;
            return Err(if exists {
                StoreError::Stale
            } else {
                StoreError::NotFound
            });
        };
        sqlx::query("UPDATE webhook_endpoints SET enabled = TRUE WHERE id = $1 AND NOT enabled")
            .bind(endpoint)
            .execute(&mut *tx)
            .await
            .db(self)?;
        let attempts: Vec<AttemptRow> = sqlx::query_as(
            "SELECT delivery_id, number, at, status_code, error FROM outbox_attempts \
             WHERE delivery_id = $1 ORDER BY number",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .db(self)?;
        tx.commit().await.db(self)?;
        let mut d = Delivery::try_from(row)?;
        d.log = attempts
            .into_iter()
            .map(|a| Attempt {
                number: u32::try_from(a.number).unwrap_or(0),
                at: a.at,
                status_code: a.status_code.and_then(|s| u16::try_from(s).ok()),
                error: a.error,
            })
            .collect();
        Ok(d)
    }

    #[tracing::instrument(skip_all)]
    async fn set_mail_enabled(&self, on: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE notify_settings SET mail_enabled = $1 WHERE mail_enabled <> $1")
            .bind(on)
            .execute(&mut *self.conn().await?)
            .await
            .db(self)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Claim>, StoreError> {
        #[derive(FromRow)]
        struct ClaimRow {
            #[sqlx(flatten)]
            delivery: DeliveryRow,
            ep_url: Option<String>,
            ep_topics: Option<Vec<String>>,
            ep_secret: Option<String>,
            ep_enabled: Option<bool>,
            ep_created_at: Option<DateTime<Utc>>,
        }
        // One statement, so one implicit transaction: the rows are locked while they are
        // chosen and updated, and free again when it returns.
        let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
            "WITH due AS ( \
                 SELECT o.id FROM outbox o \
                 WHERE o.status = 'pending' AND o.next_attempt_at <= $1 \
                   AND EXISTS (SELECT 1 FROM event_positions p WHERE p.event_id = o.event_id) \
                   AND (o.mail_kind IS NULL OR NOT EXISTS ( \
                       SELECT 1 FROM outbox p \
                       WHERE p.ticket_id = o.ticket_id AND p.mail_kind IS NOT NULL \
                         AND p.status = 'pending' AND p.id < o.id)) \
                 ORDER BY o.next_attempt_at, o.id \
                 LIMIT $3 \
                 FOR UPDATE SKIP LOCKED), \
             taken AS ( \
                 UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = $2 \
                 FROM due WHERE o.id = due.id \
                 RETURNING o.*) \
             SELECT {DELIVERY_COLUMNS}, w.url AS ep_url, w.topics AS ep_topics, \
                    w.secret AS ep_secret, w.enabled AS ep_enabled, w.created_at AS ep_created_at \
             FROM taken o LEFT JOIN event_positions p ON p.event_id = o.event_id \
             LEFT JOIN webhook_endpoints w ON w.id = o.endpoint_id \
             ORDER BY o.id"
        ))
        .bind(now)
        .bind(now + lease)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await
        .db(self)?;
        rows.into_iter()
            .map(|r| {
                let endpoint = match (r.delivery.endpoint_id, r.ep_url, r.ep_topics, r.ep_secret) {
                    (Some(id), Some(url), Some(topics), Some(secret)) => Some(
                        EndpointRow {
                            id,
                            url,
                            topics,
                            secret,
                            enabled: r.ep_enabled.unwrap_or(false),
                            created_at: r.ep_created_at.unwrap_or(now),
                        }
                        .try_into()?,
                    ),
                    _ => None,
                };
                Ok(Claim {
                    delivery: r.delivery.try_into()?,
                    endpoint,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn finish_attempt(
        &self,
        id: i64,
        attempt: u32,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let (status, next_at, delivered_at) = match outcome.next {
            NextStep::Delivered => (DeliveryStatus::Delivered, None, Some(outcome.at)),
            NextStep::RetryAt(t) => (DeliveryStatus::Pending, Some(t), None),
            NextStep::GiveUp => (DeliveryStatus::Failed, None, None),
            NextStep::DisableEndpoint => (DeliveryStatus::Disabled, None, None),
        };
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.db(self)?;
        let endpoint: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE outbox SET status = $3, next_attempt_at = coalesce($4, next_attempt_at), \
                 payload = coalesce(payload, $5), last_status = $6, last_error = $7, \
                 delivered_at = $8 \
             WHERE id = $1 AND attempts = $2 AND status = 'pending' \
             RETURNING endpoint_id",
        )
        .bind(id)
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
        .bind(status.as_str())
        .bind(next_at)
        .bind(&outcome.payload)
        .bind(outcome.status_code.map(i32::from))
        .bind(&outcome.error)
        .bind(delivered_at)
        .fetch_optional(&mut *tx)
        .await
        .db(self)?;
        let Some(endpoint) = endpoint else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO outbox_attempts (delivery_id, number, at, status_code, error) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
        .bind(outcome.at)
        .bind(outcome.status_code.map(i32::from))
        .bind(&outcome.error)
        .execute(&mut *tx)
        .await
        .db(self)?;
        if let (NextStep::DisableEndpoint, Some(ep)) = (outcome.next, endpoint) {
            sqlx::query(
                "WITH off AS (UPDATE webhook_endpoints SET enabled = FALSE WHERE id = $1) \
                 UPDATE outbox SET status = 'disabled' \
                 WHERE endpoint_id = $1 AND status = 'pending'",
            )
            .bind(ep)
            .execute(&mut *tx)
            .await
            .db(self)?;
        }
        tx.commit().await.db(self)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_backlog(&self) -> Result<Backlog, StoreError> {
        let (pending, failed): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'), \
                    (SELECT count(*) FROM outbox WHERE status = 'failed')",
        )
        .fetch_one(&mut *self.conn().await?)
        .await
        .db(self)?;
        Ok(Backlog {
            pending: u64::try_from(pending).unwrap_or(0),
            failed: u64::try_from(failed).unwrap_or(0),
        })
    }
}
