//! Sign-in, with per-username throttling, and the per-request session check.

use super::Crm;
use crate::{
    error::{CoreError, StoreError},
    ids::UserId,
    input::Username,
    password::HashersBusy,
    role::Actor,
    store::Store,
    user::{SessionKey, User},
};

impl From<HashersBusy> for CoreError {
    fn from(_: HashersBusy) -> Self {
        CoreError::Busy
    }
}

impl<S: Store> Crm<S> {
    /// Checks a username and password, for an account without two-factor sign-in (one with
    /// it is refused with [`CoreError::TotpRequired`]); see [`Crm::sign_in`].
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User, CoreError> {
        self.sign_in(username, password, None).await
    }

    /// Checks a username and password, and for an account with two-factor sign-in on, the
    /// `code` (a current code never accepted before, or an unused recovery code: missing is
    /// [`CoreError::TotpRequired`], wrong [`CoreError::TotpInvalid`]). Unknown users, deleted users, malformed usernames and
    /// wrong passwords all answer [`CoreError::InvalidCredentials`] after the same argon2 work.
    /// A username with too many recent failures (known or not) is refused with
    /// [`CoreError::TooManyAttempts`] before any password is checked; every failure is
    /// counted in the store, so the limit holds across replicas, and a success resets it.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<User, CoreError> {
        let Ok(username) = Username::parse(username) else {
            // Cannot be an account: spend the same work, count nothing.
            self.passwords.verify(None, password.to_owned()).await?;
            return Err(CoreError::InvalidCredentials);
        };
        let key = username.key();
        // A hasher first: a sign-in that cannot start hashing in time is answered busy
        // before anything is counted, so an overload never locks anybody out.
        let hasher = self.passwords.hasher().await?;
        self.reserve_attempt(&key).await?;
        let creds = self
            .store
            .credentials(&username)
            .await
            .map_err(CoreError::from_store)?;
        let (user, hash) = match creds {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        let ok = hasher.verify(hash, password.to_owned()).await;
        match user {
            Some(user) if ok => {
                if user.totp_enabled {
                    self.second_factor(&user, code).await?;
                }
                self.store
                    .login_succeeded(&key)
                    .await
                    .map_err(CoreError::from_store)?;
                Ok(user)
            }
            // Already counted by the reservation.
            _ => Err(CoreError::InvalidCredentials),
        }
    }

    /// Takes one sign-in attempt for a username key before any password is checked: counted
    /// as a failure up front in the store, refused while the username is locked. So racing
    /// guesses through any number of replicas get exactly the free attempts, never more.
    pub(super) async fn reserve_attempt(&self, key: &str) -> Result<(), CoreError> {
        match self.store.reserve_sign_in(key, self.clock.now()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(wait)) => Err(too_many(wait)),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }

    /// Loads the actor for a user id: the user must still exist and be active, and its role is
    /// read from the store, never trusted from elsewhere.
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

    /// The session a token names, in one store read: the account must exist and be active,
    /// the token's session key must still be the account's (a password change or reset draws
    /// a new one; an account created after the token was issued has another), and the token
    /// must not have been signed out.
    pub async fn session(
        &self,
        id: UserId,
        key: SessionKey,
        token_id: &str,
    ) -> Result<(Actor, User), CoreError> {
        match self.store.find_session(id, token_id).await {
            Ok(rec) if rec.active && !rec.revoked && rec.user.session_key == key => Ok((
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

pub(super) fn too_many(wait: chrono::TimeDelta) -> CoreError {
    let ms = wait.num_milliseconds().max(0) as u64;
    CoreError::TooManyAttempts {
        retry_after_secs: ms.div_ceil(1000).max(1),
    }
}
