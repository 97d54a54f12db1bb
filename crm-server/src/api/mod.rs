//! The HTTP operations, one module per resource: a thin layer that converts request types
//! into core calls, once, and core results into response bodies ([`dto`]). No business rule
//! lives here, and no error is mapped here: `?` hands every core refusal to
//! [`crate::error`]. Authentication happens before an operation runs, in the security
//! schemes of [`crate::auth`].

pub mod attachments;
pub mod auth;
pub mod clients;
pub mod credentials;
pub mod dto;
pub mod events;
pub mod health;
pub mod messages;
pub mod public;
pub mod quotes;
pub mod settings;
pub mod stages;
pub mod tickets;
pub mod users;
pub mod webhooks;

use crate::{
    auth::{Credential, Session, SessionCheck, Tokens},
    error::ApiError,
    limits::Limits,
    request_meta::Networks,
};
use crm_core::{CoreError, Crm, Store};
use poem_openapi::Tags;
use std::{pin::Pin, sync::Arc};

/// What every operation shares.
pub struct AppState<S> {
    /// The workflow.
    pub crm: Crm<S>,
    /// Token issuing and checking.
    pub tokens: Tokens,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Networks>,
    /// Per-address rate limits of this replica.
    pub limits: Arc<Limits>,
    /// Live updates of this replica.
    pub hub: Arc<crate::live::Hub>,
    /// Checks webhook URLs (and sends deliveries) under `WEBHOOK_ALLOW_HOSTS`.
    pub webhooks: crate::notify::webhook::WebhookClient,
    /// Delivery counters of this replica.
    pub deliveries: Arc<crate::notify::DeliveryStats>,
    /// Request figures of this replica, for `GET /metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Clients `GET /metrics` answers (`METRICS_ALLOW`).
    pub metrics_allow: Arc<Networks>,
    /// What the printed receipt says of the shop.
    pub shop: Arc<crate::receipt::ShopConfig>,
    /// `REQUIRE_TOTP_FOR_ADMINS`.
    pub require_totp_for_admins: bool,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            crm: self.crm.clone(),
            tokens: self.tokens.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            limits: self.limits.clone(),
            hub: self.hub.clone(),
            webhooks: self.webhooks.clone(),
            deliveries: self.deliveries.clone(),
            metrics: self.metrics.clone(),
            metrics_allow: self.metrics_allow.clone(),
            shop: self.shop.clone(),
            require_totp_for_admins: self.require_totp_for_admins,
        }
    }
}

impl<S: Store> AppState<S> {
    async fn session_of(&self, claims: crate::auth::TokenClaims) -> Result<Session, ApiError> {
        let (actor, user) = self
            .crm
            .session(claims.user, claims.session_key, &claims.token_id)
            .await?;
        Ok(Session {
            actor,
            user,
            credential: Credential::Token(claims),
        })
    }

    async fn key_session_of(&self, key: &str) -> Result<Session, ApiError> {
        let (actor, user, k) = self.crm.key_session(key).await.map_err(|e| match e {
            CoreError::Unauthenticated => {
                ApiError::unauthorized("Unknown, revoked or expired API key.", "not_authenticated")
            }
            other => other.into(),
        })?;
        Ok(Session {
            actor,
            user,
            credential: Credential::Key {
                id: k.id,
                scope: k.scope,
                expires_at: k.expires_at,
                key: key.into(),
            },
        })
    }
}

impl<S: Store> SessionCheck for AppState<S> {
    /// A valid token whose account still exists, is active and still holds the token's
    /// session key. The role is read from the store now, never taken from the token.
    fn check<'a>(
        &'a self,
        token: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Session, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            if crm_core::credential::looks_like_key(token) {
                return self.key_session_of(token).await;
            }
            let claims = self.tokens.verify(token).ok_or_else(|| {
                ApiError::unauthorized("Invalid or expired token.", "not_authenticated")
            })?;
            self.session_of(claims).await
        })
    }

    fn check_stream_ticket<'a>(
        &'a self,
        ticket: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Session, ApiError>> + Send + 'a>> {
        Box::pin(async move {
            let refused = || {
                ApiError::unauthorized(
                    "Invalid, used or expired stream ticket.",
                    "not_authenticated",
                )
            };
            let st = self
                .tokens
                .verify_stream_ticket(ticket)
                .ok_or_else(refused)?;
            let expires_at =
                chrono::DateTime::from_timestamp(st.expires_at, 0).unwrap_or_else(chrono::Utc::now);
            if !self.crm.use_once(&st.id, expires_at).await? {
                return Err(refused());
            }
            self.session_of(st.access).await
        })
    }
}

/// The groups of the OpenAPI document.
#[derive(Tags)]
pub(crate) enum Tag {
    /// Sign-in.
    Auth,
    /// What customers use, without an account.
    Public,
    /// Repair requests, for staff.
    Tickets,
    /// Staff accounts, for admins.
    Users,
    /// Probes for orchestrators and load balancers.
    Health,
    /// Live updates (Server-Sent Events).
    Events,
    /// Webhook endpoints and their deliveries, for admins.
    Webhooks,
    /// Customers: the counter's list, corrections and history.
    Clients,
}
