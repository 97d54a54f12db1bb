//! API keys and second factors: keys by hash beside the accounts, each account's second
//! factor in its row, every change under the one write lock with its history event.

use crate::{Inner, MemoryStore, rows::row_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AccountEventKind, ApiKey, Change, CredentialStore, KeyRecord, NewApiKey, StoreError,
    TotpDisable, TotpEnable, TotpState, UserId, credential::MAX_KEYS_PER_USER,
};
use hashbrown::HashMap;

/// An account's second factor.
#[derive(Default)]
pub(crate) struct SecondFactor {
    pub(crate) pending: Option<Vec<u8>>,
    pub(crate) secret: Option<Vec<u8>>,
    pub(crate) last_step: i64,
    /// Unused recovery codes' hashes.
    pub(crate) recovery: Vec<[u8; 32]>,
}

/// Every API key by its hash.
#[derive(Default)]
pub(crate) struct Keys {
    by_hash: HashMap<[u8; 32], ApiKey>,
    next_id: i64,
}

impl Inner {
    fn active_row(&self, user: UserId) -> Result<usize, StoreError> {
        row_of(user.0)
            .map(|r| r as usize)
            .filter(|&r| self.users.get(r).is_some_and(|u| u.active))
            .ok_or(StoreError::NotFound)
    }

    fn any_row(&self, user: UserId) -> Result<usize, StoreError> {
        row_of(user.0)
            .map(|r| r as usize)
            .filter(|&r| r < self.users.len())
            .ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKey, StoreError> {
        let mut g = self.write();
        g.active_row(new.user)?;
        let held = g
            .keys
            .by_hash
            .values()
            .filter(|k| k.user_id == new.user)
            .count();
        if held >= MAX_KEYS_PER_USER as usize {
            return Err(StoreError::LimitReached);
        }
        g.keys.next_id += 1;
        let key = ApiKey {
            id: g.keys.next_id,
            user_id: new.user,
            name: new.name,
            scope: new.scope,
            created_at: new.created_at,
            expires_at: new.expires_at,
            last_used_at: None,
        };
        g.keys.by_hash.insert(new.hash, key.clone());
        g.account_event(
            new.user,
            AccountEventKind::ApiKeyCreated,
            Some(new.actor),
            new.created_at,
        );
        drop(g);
        self.changed(Change::Account(new.user));
        Ok(key)
    }

    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>, StoreError> {
        let g = self.read();
        g.any_row(user)?;
        let mut keys: Vec<ApiKey> = g
            .keys
            .by_hash
            .values()
            .filter(|k| k.user_id == user)
            .cloned()
            .collect();
        keys.sort_by_key(|k| k.id);
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        user: UserId,
        id: i64,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut g = self.write();
        let before = g.keys.by_hash.len();
        g.keys
            .by_hash
            .retain(|_, k| !(k.id == id && k.user_id == user));
        if g.keys.by_hash.len() == before {
            return Err(StoreError::NotFound);
        }
        g.account_event(user, AccountEventKind::ApiKeyRevoked, Some(actor), at);
        drop(g);
        self.changed(Change::Account(user));
        Ok(())
    }

    async fn find_api_key(&self, hash: &[u8; 32]) -> Result<KeyRecord, StoreError> {
        let g = self.read();
        let key = g.keys.by_hash.get(hash).ok_or(StoreError::NotFound)?;
        let row = g.user_row(key.user_id).ok_or(StoreError::NotFound)?;
        Ok(KeyRecord {
            key: key.clone(),
            user: row.user.clone(),
            active: row.active,
        })
    }

    async fn touch_api_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut g = self.write();
        if let Some(k) = g.keys.by_hash.values_mut().find(|k| k.id == id) {
            k.last_used_at = Some(k.last_used_at.map_or(at, |was| was.max(at)));
        }
        Ok(())
    }

    async fn totp_state(&self, user: UserId) -> Result<TotpState, StoreError> {
        let g = self.read();
        let f = &g.users[g.any_row(user)?].totp;
        Ok(TotpState {
            pending: f.pending.clone(),
            secret: f.secret.clone(),
            last_step: f.last_step,
            recovery_left: f.recovery.len() as u32,
        })
    }

    async fn set_totp_pending(&self, user: UserId, secret: Vec<u8>) -> Result<(), StoreError> {
        let mut g = self.write();
        let row = g.active_row(user)?;
        let f = &mut g.users[row].totp;
        if f.secret.is_some() {
            return Err(StoreError::Stale);
        }
        f.pending = Some(secret);
        Ok(())
    }

    async fn enable_totp(&self, enable: TotpEnable) -> Result<(), StoreError> {
        let mut g = self.write();
        let row = g.active_row(enable.user)?;
        let u = &mut g.users[row];
        if u.totp.secret.is_some() || u.totp.pending.as_ref() != Some(&enable.secret) {
            return Err(StoreError::Stale);
        }
        u.totp = SecondFactor {
            pending: None,
            secret: Some(enable.secret),
            last_step: enable.step,
            recovery: enable.recovery,
        };
        u.user.totp_enabled = true;
        g.account_event(
            enable.user,
            AccountEventKind::TotpEnabled,
            Some(enable.user),
            enable.at,
        );
        drop(g);
        self.changed(Change::Account(enable.user));
        Ok(())
    }

    async fn disable_totp(&self, disable: TotpDisable) -> Result<bool, StoreError> {
        let mut g = self.write();
        let row = g.active_row(disable.user)?;
        let u = &mut g.users[row];
        let was_on = u.totp.secret.is_some();
        u.totp = SecondFactor::default();
        u.user.totp_enabled = false;
        if was_on {
            g.account_event(disable.user, disable.kind, Some(disable.actor), disable.at);
        }
        drop(g);
        if was_on {
            self.changed(Change::Account(disable.user));
        }
        Ok(was_on)
    }

    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let mut g = self.write();
        let row = g.active_row(user)?;
        let f = &mut g.users[row].totp;
        if f.secret.is_none() || f.last_step >= step {
            return Ok(false);
        }
        f.last_step = step;
        Ok(true)
    }

    async fn use_recovery_code(&self, user: UserId, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let mut g = self.write();
        let row = g.active_row(user)?;
        let f = &mut g.users[row].totp;
        let before = f.recovery.len();
        if f.secret.is_some() {
            f.recovery.retain(|h| h != hash);
        }
        Ok(f.recovery.len() < before)
    }
}
