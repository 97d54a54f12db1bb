//! API keys and two-factor sign-in: who may make and revoke keys, what a presented key
//! stands for, and the second step of signing in. The once-only steps (a code accepted, a
//! recovery code used, a setup confirmed) are the store's compare-and-sets.

use super::{Crm, not_found, require};
use crate::{
    account::AccountEventKind,
    credential::{
        self, ApiKey, KEY_USE_RESOLUTION, KeyScope, KeySecret, NewApiKey, TotpDisable, TotpEnable,
    },
    error::{CoreError, StoreError},
    ids::UserId,
    input::ValidationErrors,
    role::{Actor, Permission},
    store::Store,
    user::User,
};
use chrono::{DateTime, Utc};

/// The longest name of an API key.
pub const KEY_NAME_MAX: usize = 100;

/// A new key as its maker asked for it.
#[derive(Debug, Clone)]
pub struct MakeApiKey {
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub scope: KeyScope,
    /// When it stops working; `None` never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A started setup of two-factor sign-in: what the authenticator app needs.
#[derive(Clone)]
pub struct TotpSetup {
    /// The secret in base32, for typing in.
    pub secret: String,
    /// The `otpauth://` URI, for the QR code.
    pub uri: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(***)")
    }
}

fn key_store_error(e: StoreError) -> CoreError {
    match e {
        StoreError::LimitReached => CoreError::TooManyKeys,
        other => not_found("User")(other),
    }
}

impl<S: Store> Crm<S> {
    /// Makes an API key acting as account `id` (admins only). The key is in the answer and
    /// nowhere else: the store keeps its SHA-256.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        id: UserId,
        make: MakeApiKey,
    ) -> Result<(ApiKey, KeySecret), CoreError> {
        require(actor, Permission::ManageApiKeys)?;
        let now = self.clock.now();
        let mut errs = ValidationErrors::default();
        let name = make.name.trim();
        if name.is_empty() || name.chars().count() > KEY_NAME_MAX {
            errs.check::<()>(
                "name",
                Err(format!(
                    "The key's name must be 1 to {KEY_NAME_MAX} characters."
                )),
            );
        }
        if make.expires_at.is_some_and(|at| at <= now) {
            errs.check::<()>(
                "expires_at",
                Err("The expiry must be in the future.".into()),
            );
        }
        if !errs.is_empty() {
            return Err(errs.into());
        }
        let secret = KeySecret::generate();
        let key = self
            .store
            .create_api_key(NewApiKey {
                user: id,
                name: name.to_owned(),
                scope: make.scope,
                hash: secret.hash(),
                created_at: now,
                expires_at: make.expires_at,
                actor: actor.id,
            })
            .await
            .map_err(key_store_error)?;
        Ok((key, secret))
    }

    /// Account `id`'s keys, oldest first (admins only).
    pub async fn list_api_keys(&self, actor: &Actor, id: UserId) -> Result<Vec<ApiKey>, CoreError> {
        require(actor, Permission::ManageApiKeys)?;
        self.store
            .list_api_keys(id)
            .await
            .map_err(not_found("User"))
    }

    /// Revokes key `key` of account `id` (admins only): refused from the next request on,
    /// on every replica, and its open streams end.
    pub async fn revoke_api_key(
        &self,
        actor: &Actor,
        id: UserId,
        key: i64,
    ) -> Result<(), CoreError> {
        require(actor, Permission::ManageApiKeys)?;
        self.store
            .revoke_api_key(id, key, actor.id, self.clock.now())
            .await
            .map_err(not_found("API key"))
    }

    /// The account an API key acts as, in one store read: the key must exist and not have
    /// expired, and its account must be active. Its use is noted at most once per
    /// [`KEY_USE_RESOLUTION`].
    pub async fn key_session(&self, key: &str) -> Result<(Actor, User, ApiKey), CoreError> {
        if !credential::looks_like_key(key) {
            return Err(CoreError::Unauthenticated);
        }
        let rec = match self.store.find_api_key(&credential::key_hash(key)).await {
            Ok(rec) => rec,
            Err(StoreError::NotFound) => return Err(CoreError::Unauthenticated),
            Err(e) => return Err(CoreError::from_store(e)),
        };
        let now = self.clock.now();
        if !rec.active || rec.key.expires_at.is_some_and(|at| at <= now) {
            return Err(CoreError::Unauthenticated);
        }
        let due = rec
            .key
            .last_used_at
            .is_none_or(|at| now - at >= KEY_USE_RESOLUTION);
        if due {
            if let Err(e) = self.store.touch_api_key(rec.key.id, now).await {
                // The request itself is fine; only the note of its use is lost.
                tracing::warn!(error = %e, key_id = rec.key.id, "could not note an API key's use");
            }
        }
        let actor = Actor {
            id: rec.user.id,
            role: rec.user.role,
        };
        Ok((actor, rec.user, rec.key))
    }

    /// Starts (or restarts) setting up two-factor sign-in for the actor: a new secret, kept
    /// pending until [`Crm::enable_totp`] confirms it with a code. `issuer` names the shop in
    /// the authenticator app.
    pub async fn setup_totp(&self, actor: &Actor, issuer: &str) -> Result<TotpSetup, CoreError> {
        let user = self.account(actor.id).await?;
        let secret = credential::new_totp_secret();
        self.store
            .set_totp_pending(actor.id, secret.clone())
            .await
            .map_err(|e| match e {
                StoreError::Stale => CoreError::TotpAlreadyOn,
                other => not_found("User")(other),
            })?;
        Ok(TotpSetup {
            secret: credential::base32(&secret),
            uri: credential::otpauth_uri(&secret, issuer, &user.username),
        })
    }

    /// Confirms the pending setup with a current code and turns two-factor sign-in on.
    /// Answers the recovery codes, which exist nowhere else from now on.
    pub async fn enable_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>, CoreError> {
        let state = self
            .store
            .totp_state(actor.id)
            .await
            .map_err(not_found("User"))?;
        if state.secret.is_some() {
            return Err(CoreError::TotpAlreadyOn);
        }
        let Some(pending) = state.pending else {
            return Err(CoreError::TotpNotSetUp);
        };
        let now = self.clock.now();
        let code = code.trim();
        let Some(step) = credential::matching_step(&pending, code, now) else {
            let mut errs = ValidationErrors::default();
            errs.check::<()>(
                "code",
                Err(
                    "The code does not match: type the six digits the app shows now, and check that the phone's clock is right."
                        .into(),
                ),
            );
            return Err(errs.into());
        };
        let codes = credential::new_recovery_codes();
        self.store
            .enable_totp(TotpEnable {
                user: actor.id,
                secret: pending,
                step,
                recovery: codes.iter().map(|c| credential::recovery_hash(c)).collect(),
                at: now,
            })
            .await
            .map_err(|e| match e {
                // Another setup or a confirmation won the race.
                StoreError::Stale => CoreError::TotpNotSetUp,
                other => not_found("User")(other),
            })?;
        Ok(codes)
    }

    /// Turns the actor's two-factor sign-in off after checking its password (a wrong one is a
    /// validation error on `password` and counts as a failed sign-in).
    pub async fn disable_totp(&self, actor: &Actor, password: &str) -> Result<(), CoreError> {
        self.confirm_password(actor, password, "password").await?;
        self.store
            .disable_totp(TotpDisable {
                user: actor.id,
                kind: AccountEventKind::TotpDisabled,
                actor: actor.id,
                at: self.clock.now(),
            })
            .await
            .map_err(not_found("User"))?;
        Ok(())
    }

    /// Clears another account's two-factor sign-in (admins only), recorded in its history;
    /// its owner signs in with the password alone and may set it up again.
    pub async fn reset_totp(&self, actor: &Actor, id: UserId) -> Result<(), CoreError> {
        require(actor, Permission::ResetSecondFactor)?;
        if id == actor.id {
            return Err(CoreError::CannotClearOwnTotp);
        }
        self.store
            .disable_totp(TotpDisable {
                user: id,
                kind: AccountEventKind::TotpReset,
                actor: actor.id,
                at: self.clock.now(),
            })
            .await
            .map_err(not_found("User"))?;
        Ok(())
    }

    /// The second step of signing in, for an account with two-factor sign-in on: a current
    /// code never accepted before, or an unused recovery code. The attempt is already counted
    /// by the sign-in throttle; only a success clears it.
    pub(super) async fn second_factor(
        &self,
        user: &User,
        code: Option<&str>,
    ) -> Result<(), CoreError> {
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(CoreError::TotpRequired);
        };
        let accepted = if credential::is_totp_code(code) {
            let state = self
                .store
                .totp_state(user.id)
                .await
                .map_err(CoreError::from_store)?;
            match state
                .secret
                .and_then(|s| credential::matching_step(&s, code, self.clock.now()))
            {
                Some(step) => self
                    .store
                    .use_totp_step(user.id, step)
                    .await
                    .map_err(CoreError::from_store)?,
                None => false,
            }
        } else {
            self.store
                .use_recovery_code(user.id, &credential::recovery_hash(code))
                .await
                .map_err(CoreError::from_store)?
        };
        if accepted {
            Ok(())
        } else {
            Err(CoreError::TotpInvalid)
        }
    }

    /// The active account `id`.
    async fn account(&self, id: UserId) -> Result<User, CoreError> {
        match self.store.find_user(id).await {
            Ok(rec) if rec.active => Ok(rec.user),
            Ok(_) | Err(StoreError::NotFound) => Err(CoreError::Unauthenticated),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }
}
