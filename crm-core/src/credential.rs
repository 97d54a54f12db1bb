//! Credentials beside the password: API keys for integrations, and the second factor
//! (RFC 6238 time-based codes with single-use recovery codes).
//!
//! Both are secrets the store must not be able to give away: an API key is kept only as its
//! SHA-256 (a key is 160 random bits, so a fast hash is enough and a lookup stays one index
//! probe per request), a recovery code likewise. The TOTP secret itself has to be kept to
//! check codes with. Every step that must happen once (a code accepted, a recovery code used,
//! two-factor sign-in turned on from one setup) is a compare-and-set in the store.

use crate::{account::AccountEventKind, error::StoreError, ids::UserId, user::User};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// Reads only: every request that changes something is refused (403).
    Read,
    /// Whatever its user may do.
    Write,
}

impl KeyScope {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            _ => None,
        }
    }
}

/// An API key as listed: everything but the key itself, which nobody can read again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Identity, per store.
    pub id: i64,
    /// Whose powers it carries.
    pub user_id: UserId,
    /// What it is for ("accounting export"), for people.
    pub name: String,
    /// What it may do.
    pub scope: KeyScope,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// After this it is refused; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// The last request it signed, to within [`KEY_USE_RESOLUTION`].
    pub last_used_at: Option<DateTime<Utc>>,
}

/// How precisely `last_used_at` is kept: a key's use is written at most once per this
/// interval, so a busy integration does not turn every read into a write.
pub const KEY_USE_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The most API keys one account may hold, so a leaked admin token cannot mint without end.
pub const MAX_KEYS_PER_USER: u32 = 25;

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Whose.
    pub user: UserId,
    /// Its name.
    pub name: String,
    /// Its scope.
    pub scope: KeyScope,
    /// SHA-256 of the key.
    pub hash: [u8; 32],
    /// Now.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// The admin who made it (recorded in the account's history).
    pub actor: UserId,
}

/// What the per-request key check reads, in one store read.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The key.
    pub key: ApiKey,
    /// Its account.
    pub user: User,
    /// False once the account is deleted: its keys stop working with it.
    pub active: bool,
}

/// A key as its owner receives it, once: `crm_` and 40 hex digits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

/// What every API key starts with, so a bearer credential is told from a token at a glance
/// (and secret scanners can find leaked ones).
pub const KEY_PREFIX: &str = "crm_";

impl KeySecret {
    /// A new random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!("{KEY_PREFIX}{}", hex(&bytes)))
    }

    /// The key, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn hash(&self) -> [u8; 32] {
        key_hash(&self.0)
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("crm_***")
    }
}

/// SHA-256 of a presented key, the form it is looked up by.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a bearer credential is shaped like an API key (it may still be unknown).
pub fn looks_like_key(credential: &str) -> bool {
    credential.len() == KEY_PREFIX.len() + 40
        && credential.starts_with(KEY_PREFIX)
        && credential[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// The length of a time step, seconds (RFC 6238's default, what every authenticator app uses).
pub const TOTP_STEP_SECONDS: i64 = 30;

/// How many recovery codes an account receives when it turns two-factor sign-in on.
pub const RECOVERY_CODES: usize = 10;

/// An account's second factor as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The secret of a setup not yet confirmed with a code.
    pub pending: Option<Vec<u8>>,
    /// The secret codes are checked against, while two-factor sign-in is on.
    pub secret: Option<Vec<u8>>,
    /// The last time step a code was accepted for: no code of it or before is accepted again.
    pub last_step: i64,
    /// Recovery codes not used yet.
    pub recovery_left: u32,
}

impl fmt::Debug for TotpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpState")
            .field("pending", &self.pending.is_some())
            .field("on", &self.secret.is_some())
            .field("last_step", &self.last_step)
            .field("recovery_left", &self.recovery_left)
            .finish()
    }
}

/// Turning two-factor sign-in on: applied only while `secret` is still the account's pending
/// setup and two-factor sign-in is off (else [`StoreError::Stale`]), with its history event.
#[derive(Clone)]
pub struct TotpEnable {
    /// The account.
    pub user: UserId,
    /// The confirmed secret.
    pub secret: Vec<u8>,
    /// The step of the code that confirmed it (not accepted again).
    pub step: i64,
    /// SHA-256 of each recovery code.
    pub recovery: Vec<[u8; 32]>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Turning two-factor sign-in off: by its owner, or by an admin's reset.
#[derive(Debug, Clone)]
pub struct TotpDisable {
    /// The account.
    pub user: UserId,
    /// `TotpDisabled` (its owner) or `TotpReset` (an admin).
    pub kind: AccountEventKind,
    /// Who.
    pub actor: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A new, random TOTP secret (160 bits, RFC 4226's recommendation).
pub fn new_totp_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rng().fill_bytes(&mut s);
    s
}

/// The time step `at` falls in.
pub fn totp_step(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(TOTP_STEP_SECONDS)
}

fn totp(secret: &[u8]) -> totp_rs::TOTP {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        TOTP_STEP_SECONDS as u64,
        secret.to_vec(),
    )
}

/// The six-digit code of `secret` for time step `step`.
pub fn totp_code(secret: &[u8], step: i64) -> String {
    totp(secret).generate((step.max(0) * TOTP_STEP_SECONDS) as u64)
}

/// The step of `code` among the current step and one on either side (clocks drift), newest
/// first; `None` when it matches none. Compared in constant time.
pub fn matching_step(secret: &[u8], code: &str, at: DateTime<Utc>) -> Option<i64> {
    let now = totp_step(at);
    [now + 1, now, now - 1]
        .into_iter()
        .find(|&step| constant_eq(totp_code(secret, step).as_bytes(), code.as_bytes()))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a sign-in code is shaped like a time-based code (six digits) rather than a
/// recovery code.
pub fn is_totp_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The base32 form of a secret, as authenticator apps take it typed in.
pub fn base32(secret: &[u8]) -> String {
    match totp_rs::Secret::Raw(secret.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(s) => s,
        totp_rs::Secret::Raw(_) => unreachable!("to_encoded answers the encoded form"),
    }
}

/// The code an authenticator app holding the base32 `secret` shows at `at`, as a test or an
/// embedder's own tooling computes it (`None` for a secret that is not base32).
pub fn code_at(secret: &str, at: DateTime<Utc>) -> Option<String> {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .ok()?;
    Some(totp_code(&bytes, totp_step(at)))
}

/// The `otpauth://` URI authenticator apps read from the setup QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = uri_escape(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period={TOTP_STEP_SECONDS}",
        uri_escape(account),
        base32(secret)
    )
}

fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Ten new recovery codes, `xxxx-xxxx-xxxx-xxxx` in lowercase base32 (80 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| ALPHABET[(*b & 31) as usize] as char)
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// SHA-256 of a recovery code as typed: spaces and dashes dropped, any case.
pub fn recovery_hash(code: &str) -> [u8; 32] {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    Sha256::digest(normal.as_bytes()).into()
}

/// API keys and second factors: the store's side. Every change here also appends the
/// account's history event, which ends the account's open streams on every replica.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Stores a key for an active account ([`StoreError::NotFound`] otherwise), unless it holds
    /// [`MAX_KEYS_PER_USER`] already ([`StoreError::LimitReached`]), with its history event.
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, StoreError>;

    /// An account's keys, oldest first ([`StoreError::NotFound`] for no such account).
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError>;

    /// Removes a key of `user` ([`StoreError::NotFound`] when it has none by that id): from
    /// the next request on, on every replica, it is unknown.
    async fn revoke_api_key(
        &self,
        user: UserId,
        id: i64,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The key with this hash and its account ([`StoreError::NotFound`] for none).
    async fn find_api_key(&self, hash: &[u8; 32]) -> Result<KeyRecord, StoreError>;

    /// Notes a use of a key, keeping the latest time only.
    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// An account's second factor ([`StoreError::NotFound`] for no such account).
    async fn totp_state(&self, user: UserId) -> Result<TotpState, StoreError>;

    /// Keeps the secret of a new setup, replacing an unconfirmed one; refused with
    /// [`StoreError::Stale`] while two-factor sign-in is on.
    async fn set_totp_pending(&self, user: UserId, secret: Vec<u8>) -> Result<(), StoreError>;

    /// Turns two-factor sign-in on (see [`TotpEnable`]).
    async fn enable_totp(&self, enable: TotpEnable) -> Result<(), StoreError>;

    /// Turns it off, forgetting the secret, the pending setup and the recovery codes; answers
    /// whether it was on (the history event is written only then).
    async fn disable_totp(&self, disable: TotpDisable) -> Result<bool, StoreError>;

    /// Accepts a code of time step `step` once: true only when two-factor sign-in is on and
    /// no code of this step or a later one was accepted before.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;

    /// Uses up a recovery code: true only the first time, while two-factor sign-in is on.
    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_told_from_tokens_and_hidden_from_debug() {
        let k = KeySecret::generate();
        assert!(looks_like_key(k.expose()));
        assert_ne!(k, KeySecret::generate());
        assert_eq!(format!("{k:?}"), "crm_***");
        assert_eq!(k.hash(), key_hash(k.expose()));
        assert!(!looks_like_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
        assert!(!looks_like_key("crm_short"));
        assert!(!looks_like_key(&format!("crm_{}", "g".repeat(40))));
    }

    #[test]
    fn codes_follow_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, the last six digits.
        let secret = b"12345678901234567890";
        let at = |t: i64| DateTime::from_timestamp(t, 0).unwrap();
        assert_eq!(totp_code(secret, totp_step(at(59))), "287082");
        assert_eq!(totp_code(secret, totp_step(at(1111111109))), "081804");
        assert_eq!(totp_code(secret, totp_step(at(1234567890))), "005924");
        let now = at(1234567890);
        let step = totp_step(now);
        assert_eq!(matching_step(secret, "005924", now), Some(step));
        let before = totp_code(secret, step - 1);
        assert_eq!(matching_step(secret, &before, now), Some(step - 1));
        let after = totp_code(secret, step + 1);
        assert_eq!(matching_step(secret, &after, now), Some(step + 1));
        let far = totp_code(secret, step - 2);
        assert_eq!(matching_step(secret, &far, now), None, "two steps off");
        assert!(is_totp_code("005924"));
        assert!(!is_totp_code("00592"));
        assert!(!is_totp_code("abcd-efgh"));
    }

    #[test]
    fn uri_and_recovery_codes() {
        let uri = otpauth_uri(b"12345678901234567890", "Fix & Go", "ana");
        assert_eq!(
            uri,
            "otpauth://totp/Fix%20%26%20Go:ana?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Fix%20%26%20Go&algorithm=SHA1&digits=6&period=30"
        );
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes.iter().all(|c| c.len() == 19));
        assert_eq!(
            recovery_hash(&codes[0]),
            recovery_hash(&codes[0].to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(&codes[0]), recovery_hash(&codes[1]));
    }
}
