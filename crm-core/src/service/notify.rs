//! Notifications through the facade: webhook endpoints and their delivery logs for admins,
//! and the few calls a delivery worker makes (take due notifications, report attempts).

use super::{Crm, not_found, require};
use crate::{
    error::{CoreError, StoreError},
    input::ValidationErrors,
    notify::{
        AttemptOutcome, Backlog, Claim, Delivery, MAX_URL_CHARS, NewWebhook, Topic,
        WebhookEndpoint, new_secret,
    },
    page::{Page, parse_list},
    role::{Actor, Permission},
    store::Store,
};
use chrono::TimeDelta;

impl<S: Store> Crm<S> {
    /// Adds a webhook endpoint (admins only) and returns it with its new signing secret,
    /// which is shown this once. `url` must be an absolute `http` or `https` URL (the server
    /// also refuses private targets before calling this); `events` names at least one topic.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: &[String],
    ) -> Result<WebhookEndpoint, CoreError> {
        require(actor, Permission::ManageWebhooks)?;
        let mut errs = ValidationErrors::default();
        let url = errs.check("url", check_url(url));
        let topics = errs.check("events", parse_topics(events));
        let (Some(url), Some(topics)) = (url, topics) else {
            return Err(errs.into());
        };
        self.store
            .create_webhook(NewWebhook {
                url,
                topics,
                secret: new_secret(),
                at: self.clock.now(),
            })
            .await
            .map_err(CoreError::from_store)
    }

    /// Every webhook endpoint (admins only), without secrets.
    pub async fn list_webhooks(&self, actor: &Actor) -> Result<Vec<WebhookEndpoint>, CoreError> {
        require(actor, Permission::ManageWebhooks)?;
        self.store
            .list_webhooks()
            .await
            .map_err(CoreError::from_store)
    }

    /// Removes an endpoint and its delivery log (admins only).
    pub async fn delete_webhook(&self, actor: &Actor, id: i64) -> Result<(), CoreError> {
        require(actor, Permission::ManageWebhooks)?;
        self.store
            .delete_webhook(id)
            .await
            .map_err(not_found("Webhook"))
    }

    /// One page of an endpoint's delivery log, newest first (admins only).
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        endpoint: i64,
        page: Option<i64>,
        size: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<Delivery>, CoreError> {
        require(actor, Permission::ManageWebhooks)?;
        let (page, _) = parse_list(page, size, cursor, None)?;
        self.store
            .deliveries(endpoint, page)
            .await
            .map_err(not_found("Webhook"))
    }

    /// Queues a delivered, failed or disabled delivery for one more attempt now (admins
    /// only); a disabled endpoint is enabled again. A pending one is refused: it is already
    /// queued, and a second attempt beside it could deliver it twice at once.
    pub async fn retry_delivery(
        &self,
        actor: &Actor,
        endpoint: i64,
        id: i64,
    ) -> Result<Delivery, CoreError> {
        require(actor, Permission::ManageWebhooks)?;
        match self
            .store
            .retry_delivery(endpoint, id, self.clock.now())
            .await
        {
            Ok(d) => Ok(d),
            Err(StoreError::NotFound) => Err(CoreError::NotFound("Delivery")),
            Err(StoreError::Stale) => Err(CoreError::DeliveryPending),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }

    /// Whether changes record customer e-mail from now on (the server turns it on when a mail
    /// server is configured).
    pub async fn set_mail_enabled(&self, on: bool) -> Result<(), CoreError> {
        self.store
            .set_mail_enabled(on)
            .await
            .map_err(CoreError::from_store)
    }

    /// Takes due notifications for one attempt each (see [`crate::store::Outbox::claim_due`]).
    pub async fn claim_notifications(
        &self,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<Claim>, CoreError> {
        self.store
            .claim_due(self.clock.now(), lease, limit)
            .await
            .map_err(CoreError::from_store)
    }

    /// Records how a claimed attempt ended; false when the claim had been overtaken.
    pub async fn finish_notification(
        &self,
        claim: &Claim,
        outcome: AttemptOutcome,
    ) -> Result<bool, CoreError> {
        self.store
            .finish_attempt(claim.delivery.id, claim.delivery.attempts, outcome)
            .await
            .map_err(CoreError::from_store)
    }

    /// What is waiting in the outbox.
    pub async fn notification_backlog(&self) -> Result<Backlog, CoreError> {
        self.store
            .outbox_backlog()
            .await
            .map_err(CoreError::from_store)
    }
}

/// An absolute `http` or `https` URL of sane length with no blanks or control characters.
fn check_url(url: &str) -> Result<String, String> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!(
            "A webhook URL is at most {MAX_URL_CHARS} characters."
        ));
    }
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err("A webhook URL starts with http:// or https://.".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("A webhook URL has no spaces or control characters.".into());
    }
    Ok(url.to_owned())
}

/// At least one known topic; repeats are folded.
fn parse_topics(events: &[String]) -> Result<Vec<Topic>, String> {
    let mut topics = Vec::new();
    for e in events {
        let Some(t) = Topic::parse(e) else {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
            return Err(format!(
                "Unknown event type {e:?}; known: {}.",
                known.join(", ")
            ));
        };
        if !topics.contains(&t) {
            topics.push(t);
        }
    }
    if topics.is_empty() {
        return Err("Subscribe to at least one event type.".into());
    }
    topics.sort();
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_topics() {
        assert!(check_url("https://example.com/hook").is_ok());
        assert!(check_url("HTTP://example.com").is_ok());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("https://exa mple.com").is_err());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2000))).is_err());
        assert_eq!(
            parse_topics(&[
                "ticket.released".into(),
                "ticket.submitted".into(),
                "ticket.released".into()
            ]),
            Ok(vec![Topic::TicketSubmitted, Topic::TicketReleased])
        );
        assert!(parse_topics(&[]).is_err());
        assert!(parse_topics(&["ticket.viewed".into()]).is_err());
    }
}
