//! The account lifecycle: changing one's own password, an admin's reset, signing out, and the
//! audit trail. Who may do what and the password rule live here once; each store makes each
//! change atomic with its audit event and with the new session key that ends older tokens.

use super::{Crm, not_found, require};
use crate::{
    account::{AccountEvent, AccountEventKind, PasswordChange},
    error::{CoreError, StoreError},
    ids::UserId,
    input::{Password, ValidationErrors},
    role::{Actor, Permission},
    store::Store,
    user::{SessionKey, User, UserCredentials},
};
use chrono::{DateTime, Utc};

/// The password rule beyond its length: a new password differs from the account's name (any
/// case) and, when changing one's own, from the current one.
fn check_new_password(
    errs: &mut ValidationErrors,
    new: &str,
    username: &str,
    current: Option<&str>,
) -> Option<Password> {
    let password = errs.check("new_password", Password::parse(new))?;
    if new.eq_ignore_ascii_case(username) {
        errs.check::<()>(
            "new_password",
            Err("The password must not be the username.".into()),
        );
        return None;
    }
    if current == Some(new) {
        errs.check::<()>(
            "new_password",
            Err("The new password must differ from the current one.".into()),
        );
        return None;
    }
    Some(password)
}

const WRONG_PASSWORD: &str = "The current password is not correct.";

impl<S: Store> Crm<S> {
    /// Checks the actor's own password as a sign-in attempt: counted by the account's
    /// throttle (refused while it is locked), cleared by a success.
    async fn check_own_password(
        &self,
        actor: &Actor,
        password: &str,
    ) -> Result<(UserCredentials, bool), CoreError> {
        let creds = self
            .store
            .credentials_by_id(actor.id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CoreError::Unauthenticated,
                other => CoreError::from_store(other),
            })?;
        let key = creds.user.username.to_ascii_lowercase();
        let hasher = self.passwords.hasher().await?;
        self.reserve_attempt(&key).await?;
        let ok = hasher
            .verify(Some(creds.password_hash.clone()), password.to_owned())
            .await;
        if ok {
            self.store
                .login_succeeded(&key)
                .await
                .map_err(CoreError::from_store)?;
        }
        // A failure is already counted by the reservation.
        Ok((creds, ok))
    }

    /// Confirms a sensitive step of the actor's with its password: a wrong one is a
    /// validation error on `field`.
    pub(super) async fn confirm_password(
        &self,
        actor: &Actor,
        password: &str,
        field: &'static str,
    ) -> Result<(), CoreError> {
        if self.check_own_password(actor, password).await?.1 {
            Ok(())
        } else {
            let mut errs = ValidationErrors::default();
            errs.check::<()>(field, Err(WRONG_PASSWORD.into()));
            Err(errs.into())
        }
    }

    /// Changes the actor's own password after checking the current one (a wrong one is a
    /// validation error on `current_password`, and counts as a failed sign-in for the
    /// account's throttle). Every token issued before stops working at once; the returned
    /// account carries the new session key to issue a fresh token with.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current_password: &str,
        new_password: &str,
    ) -> Result<User, CoreError> {
        let (creds, current_ok) = self.check_own_password(actor, current_password).await?;
        let mut errs = ValidationErrors::default();
        let password = check_new_password(
            &mut errs,
            new_password,
            &creds.user.username,
            Some(current_password),
        );
        if !current_ok {
            errs.check::<()>("current_password", Err(WRONG_PASSWORD.into()));
        }
        let Some(password) = password.filter(|_| errs.is_empty()) else {
            return Err(errs.into());
        };
        let change = PasswordChange {
            user: actor.id,
            expected_key: creds.user.session_key,
            password_hash: self.passwords.hash(password.expose().to_owned()).await?,
            new_key: SessionKey::generate(),
            must_change_password: false,
            kind: AccountEventKind::PasswordChanged,
            actor: actor.id,
            at: self.clock.now(),
        };
        self.store.set_password(change).await.map_err(|e| match e {
            // Another change or a reset won the race: this session is over.
            StoreError::Stale | StoreError::NotFound => CoreError::Unauthenticated,
            other => CoreError::from_store(other),
        })
    }

    /// Sets another account's password (admins only). Its tokens stop working at once and its
    /// owner must change the password at next sign-in.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        id: UserId,
        new_password: &str,
    ) -> Result<(), CoreError> {
        require(actor, Permission::ResetPasswords)?;
        if id == actor.id {
            return Err(CoreError::CannotResetSelf);
        }
        let target = self
            .store
            .credentials_by_id(id)
            .await
            .map_err(not_found("User"))?
            .user;
        let mut errs = ValidationErrors::default();
        let Some(password) = check_new_password(&mut errs, new_password, &target.username, None)
        else {
            return Err(errs.into());
        };
        let change = PasswordChange {
            user: id,
            expected_key: target.session_key,
            password_hash: self.passwords.hash(password.expose().to_owned()).await?,
            new_key: SessionKey::generate(),
            must_change_password: true,
            kind: AccountEventKind::PasswordReset,
            actor: actor.id,
            at: self.clock.now(),
        };
        match self.store.set_password(change).await {
            Ok(_) => Ok(()),
            // Its owner changed it meanwhile: the admin's decision was made on an old state.
            Err(StoreError::Stale) => Err(CoreError::Busy),
            Err(e) => Err(not_found("User")(e)),
        }
    }

    /// Signs the token `token_id` of `actor` out: it is refused from now on, on every
    /// replica, until `expires_at`, after which it would be refused anyway.
    pub async fn sign_out(
        &self,
        actor: &Actor,
        token_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        self.store
            .revoke_token(actor.id, token_id, expires_at, self.clock.now())
            .await
            .map_err(CoreError::from_store)
    }

    /// An account's audit trail, oldest first (admins only).
    pub async fn account_history(
        &self,
        actor: &Actor,
        id: UserId,
    ) -> Result<Vec<AccountEvent>, CoreError> {
        require(actor, Permission::ReadAccountHistory)?;
        self.store
            .account_history(id)
            .await
            .map_err(not_found("User"))
    }
}
