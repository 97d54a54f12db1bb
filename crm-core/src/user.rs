//! Staff accounts and per-worker statistics.

use crate::{ids::UserId, input::Username, role::Role};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;

/// A random number every token of an account carries. Drawing a new one ends every token
/// issued before, at once and on every replica, because tokens are checked against the
/// stored key on each request. A fresh key per account also refuses tokens issued before the
/// account existed (an in-memory store restarts its ids).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionKey(pub i64);

impl SessionKey {
    /// Draws a key from the OS-seeded CSPRNG.
    pub fn generate() -> Self {
        Self(rand::rng().next_u64() as i64)
    }
}

impl std::fmt::Debug for SessionKey {
    // A key is half of what makes a token valid: keep it out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

/// A staff account as the API shows it. The password hash is deliberately not a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Identity; kept after deactivation so history and statistics keep their worker.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Powers.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// What its tokens must carry (never shown).
    #[serde(skip)]
    pub session_key: SessionKey,
    /// Still on a documented default password, or reset by an admin: the owner should choose
    /// a new one before anything else.
    pub must_change_password: bool,
    /// Whether automatic assignment may choose it (workers; new accounts are available).
    pub available: bool,
    /// Whether it signs in with a second factor (a code from an authenticator app).
    pub totp_enabled: bool,
}

/// A user together with its stored password hash, for sign-in only.
#[derive(Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// Its argon2id PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// An account to insert; the password is already hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Powers.
    pub role: Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The first session key.
    pub session_key: SessionKey,
    /// Whether the owner must choose a new password first.
    pub must_change_password: bool,
    /// The admin who creates it (`None` for the default accounts at first start).
    pub created_by: Option<UserId>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Ticket counts for one worker (or for everything), as admins read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The worker, or `None` for all tickets.
    pub worker_id: Option<UserId>,
    /// All tickets in scope.
    pub total: u64,
    /// In status `new`.
    pub new: u64,
    /// In status `in_progress`.
    pub in_progress: u64,
    /// In status `done`.
    pub done: u64,
    /// Mean of `done_at - created_at` over done tickets, in seconds; `None` when none is done.
    pub avg_resolution_seconds: Option<f64>,
    /// Per stage, in the stages' order: tickets in it now and the mean stay.
    pub stages: Vec<crate::stage::StageStats>,
}

/// The raw sums a store keeps or computes; [`Stats`] is derived from them in one place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatCounts {
    /// In status `new`.
    pub new: u64,
    /// In status `in_progress`.
    pub in_progress: u64,
    /// In status `done`.
    pub done: u64,
    /// Sum of `done_at - created_at` over done tickets, in microseconds.
    pub resolution_micros_sum: i128,
}

impl StatCounts {
    /// The figures an admin reads.
    pub fn into_stats(self, worker_id: Option<UserId>) -> Stats {
        Stats {
            worker_id,
            total: self.new + self.in_progress + self.done,
            new: self.new,
            in_progress: self.in_progress,
            done: self.done,
            avg_resolution_seconds: (self.done > 0)
                .then(|| self.resolution_micros_sum as f64 / self.done as f64 / 1e6),
            stages: Vec::new(),
        }
    }
}

impl crate::page::Positioned for User {
    fn position(&self) -> crate::page::Cursor {
        crate::page::Cursor {
            key: self.created_at.timestamp_micros(),
            id: self.id.0,
        }
    }
}
