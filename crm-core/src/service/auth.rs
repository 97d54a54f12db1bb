//! Sign-in and the per-request session check.

use super::Crm;
use crate::{
    error::{CoreError, StoreError},
    ids::UserId,
    input::Username,
    role::Actor,
    store::Store,
    user::User,
};

impl<S: Store> Crm<S> {
    /// Checks a username and password. Unknown users, deleted users, malformed usernames and
    /// wrong passwords all answer [`CoreError::InvalidCredentials`] after the same argon2 work.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User, CoreError> {
        let creds = match Username::parse(username) {
            Ok(u) => self
                .store
                .credentials(&u)
                .await
                .map_err(CoreError::from_store)?,
            Err(_) => None,
        };
        let (user, hash) = match creds {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        if self.passwords.verify(hash, password.to_owned()).await {
            user.ok_or(CoreError::InvalidCredentials)
        } else {
            Err(CoreError::InvalidCredentials)
        }
    }

    /// Loads the actor for a verified token subject: the user must still exist and be active,
    /// and its role is read from the store, never trusted from the token.
    pub async fn actor(&self, id: UserId) -> Result<(Actor, User), CoreError> {
        match self.store.find_user(id).await {
            Ok(rec) if rec.active => Ok((
                Actor {
                    id: rec.user.id,
                    role: rec.user.role,
                },
                rec.user,
            )),
            Ok(_) | Err(StoreError::NotFound) => Err(CoreError::Unauthenticated),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }
}
