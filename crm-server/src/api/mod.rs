//! The HTTP operations, one module per resource: a thin layer that converts request types
//! into core calls, once, and core results into response bodies ([`dto`]). No business rule
//! lives here, and no error is mapped here: `?` hands every core refusal to
//! [`crate::error`].

pub mod auth;
pub mod dto;
pub mod health;
pub mod public;
pub mod tickets;
pub mod users;

use crate::{
    auth::{BearerAuth, Tokens},
    error::ApiError,
};
use crm_core::{Actor, Crm, Store, User};
use poem_openapi::Tags;
use std::{net::IpAddr, sync::Arc};

/// What every operation shares.
pub struct AppState<S> {
    /// The workflow.
    pub crm: Crm<S>,
    /// Token issuing and checking.
    pub tokens: Tokens,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        Self {
            crm: self.crm.clone(),
            tokens: self.tokens.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

impl<S: Store> AppState<S> {
    /// The signed-in actor: a valid token whose user still exists and is active. Its role is
    /// read from the store now, never taken from the token.
    pub(crate) async fn actor(&self, auth: &BearerAuth) -> Result<Actor, ApiError> {
        Ok(self.signed_in(auth).await?.0)
    }

    /// [`AppState::actor`] together with the user's account.
    pub(crate) async fn signed_in(&self, auth: &BearerAuth) -> Result<(Actor, User), ApiError> {
        let id = self.tokens.verify(&auth.0.token).ok_or_else(|| {
            ApiError::unauthorized("Invalid or expired token.", "not_authenticated")
        })?;
        Ok(self.crm.actor(id).await?)
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
}
