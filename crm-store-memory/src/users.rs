//! Staff accounts.

use crate::{
    Inner, MemoryStore,
    rows::{UserRow, row_of},
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AccountEvent, AccountEventKind, Change, NewEvent, NewUser, Page, PasswordChange, Positioned,
    Role, SessionRecord, StoreError, TicketStatus, User, UserCredentials, UserId, UserQuery,
    UserRecord, UserStore,
    input::{Username, fold_case},
};

impl Inner {
    pub(crate) fn user_row(&self, id: UserId) -> Option<&UserRow> {
        row_of(id.0).and_then(|r| self.users.get(r as usize))
    }

    pub(crate) fn account_event(
        &mut self,
        user: UserId,
        kind: AccountEventKind,
        actor: Option<UserId>,
        at: DateTime<Utc>,
    ) {
        self.next_account_event += 1;
        let event = AccountEvent {
            id: self.next_account_event,
            user_id: user,
            at,
            kind,
            actor_id: actor,
        };
        if let Some(row) = row_of(user.0).and_then(|r| self.users.get_mut(r as usize)) {
            row.events.push(event);
        }
    }

    fn insert_user(&mut self, new: NewUser) -> User {
        let id = UserId(self.users.len() as i64 + 1);
        let user = User {
            id,
            username: new.username.as_str().to_owned(),
            role: new.role,
            created_at: new.created_at,
            session_key: new.session_key,
            must_change_password: new.must_change_password,
            available: true,
            totp_enabled: false,
        };
        self.active_names
            .insert(new.username.key(), self.users.len() as u32);
        if new.role == Role::Admin {
            self.active_admins += 1;
        }
        self.users.push(UserRow {
            user: user.clone(),
            password_hash: new.password_hash,
            active: true,
            events: Vec::with_capacity(1),
            totp: Default::default(),
        });
        self.account_event(
            id,
            AccountEventKind::Created,
            new.created_by,
            new.created_at,
        );
        user
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let mut g = self.write();
        if g.active_names.contains_key(&new.username.key()) {
            return Err(StoreError::UsernameTaken);
        }
        Ok(g.insert_user(new))
    }

    async fn seed_users(&self, users: Vec<NewUser>) -> Result<bool, StoreError> {
        let mut g = self.write();
        if !g.users.is_empty() {
            return Ok(false);
        }
        let mut keys = std::collections::HashSet::new();
        if !users.iter().all(|u| keys.insert(u.username.key())) {
            return Err(StoreError::UsernameTaken);
        }
        for u in users {
            g.insert_user(u);
        }
        Ok(true)
    }

    async fn find_user(&self, id: UserId) -> Result<UserRecord, StoreError> {
        let g = self.read();
        g.user_row(id)
            .map(|u| UserRecord {
                user: u.user.clone(),
                active: u.active,
            })
            .ok_or(StoreError::NotFound)
    }

    async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let g = self.read();
        Ok(g.active_names.get(&username.key()).map(|&row| {
            let u = &g.users[row as usize];
            UserCredentials {
                user: u.user.clone(),
                password_hash: u.password_hash.clone(),
            }
        }))
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>, StoreError> {
        // Staff accounts number in the tens or hundreds: a scan is simpler than an index.
        let g = self.read();
        let needle = query.search.as_ref().map(|s| s.folded());
        let mut hits: Vec<&User> = g
            .users
            .iter()
            .filter(|u| u.active)
            .map(|u| &u.user)
            .filter(|u| query.role.is_none_or(|r| u.role == r))
            .filter(|u| needle.is_none_or(|n| fold_case(&u.username).contains(n)))
            .collect();
        hits.sort_unstable_by_key(|u| std::cmp::Reverse(u.position()));
        let total = hits.len() as u64;
        let cursor = query.page.cursor();
        let items = hits
            .into_iter()
            .filter(|u| cursor.is_none_or(|c| u.position() < c))
            .skip(usize::try_from(query.page.offset()).unwrap_or(usize::MAX))
            .take(query.page.fetch_limit() as usize)
            .cloned()
            .collect();
        Ok(query.page.page_of(items, total))
    }

    async fn find_session(&self, id: UserId, token_id: &str) -> Result<SessionRecord, StoreError> {
        let g = self.read();
        let u = g.user_row(id).ok_or(StoreError::NotFound)?;
        Ok(SessionRecord {
            user: u.user.clone(),
            active: u.active,
            revoked: g
                .revoked
                .get(token_id)
                .is_some_and(|(owner, _)| *owner == id),
        })
    }

    async fn credentials_by_id(&self, id: UserId) -> Result<UserCredentials, StoreError> {
        let g = self.read();
        g.user_row(id)
            .filter(|u| u.active)
            .map(|u| UserCredentials {
                user: u.user.clone(),
                password_hash: u.password_hash.clone(),
            })
            .ok_or(StoreError::NotFound)
    }

    async fn set_password(&self, change: PasswordChange) -> Result<User, StoreError> {
        let mut g = self.write();
        let row = row_of(change.user.0)
            .filter(|&r| g.users.get(r as usize).is_some_and(|u| u.active))
            .ok_or(StoreError::NotFound)?;
        let u = &mut g.users[row as usize];
        if u.user.session_key != change.expected_key {
            return Err(StoreError::Stale);
        }
        u.password_hash = change.password_hash;
        u.user.session_key = change.new_key;
        u.user.must_change_password = change.must_change_password;
        let user = u.user.clone();
        g.account_event(change.user, change.kind, Some(change.actor), change.at);
        drop(g);
        self.changed(Change::Account(change.user));
        Ok(user)
    }

    async fn revoke_token(
        &self,
        user: UserId,
        token_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut g = self.write();
        g.revoked.retain(|_, (_, until)| *until > now);
        if expires_at > now {
            g.revoked.insert(token_id.to_owned(), (user, expires_at));
        }
        drop(g);
        self.changed(Change::Account(user));
        Ok(())
    }

    async fn account_history(&self, id: UserId) -> Result<Vec<AccountEvent>, StoreError> {
        let g = self.read();
        g.user_row(id)
            .map(|u| u.events.clone())
            .ok_or(StoreError::NotFound)
    }

    async fn deactivate_user(
        &self,
        id: UserId,
        actor: UserId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut g = self.write();
        let Some(row) = row_of(id.0).filter(|&r| g.users.get(r as usize).is_some_and(|u| u.active))
        else {
            return Err(StoreError::NotFound);
        };
        let role = g.users[row as usize].user.role;
        if role == Role::Admin && g.active_admins <= 1 {
            return Err(StoreError::LastAdmin);
        }
        let u = &mut g.users[row as usize];
        u.active = false;
        let key = u.user.username.to_ascii_lowercase();
        g.active_names.remove(&key);
        if role == Role::Admin {
            g.active_admins -= 1;
        }
        g.account_event(id, AccountEventKind::Deleted, Some(actor), at);
        let open = g.indexes.open_rows(id);
        for &t in &open {
            let from = g.tickets[t as usize].status;
            // A stage belongs to a status: back to `new`, the ticket leaves its stage.
            let left = (from != TicketStatus::New)
                .then(|| g.ticket(t).stage)
                .flatten();
            g.update_row(t, |r| {
                r.status = TicketStatus::New;
                r.worker = None;
                r.assigned_at = None;
                r.in_progress_at = None;
                r.updated_at = at;
                if left.is_some() {
                    r.stage = None;
                    r.stage_at = None;
                }
            });
            g.push_event(t, NewEvent::released(at, actor, id, from));
            if let Some(left) = left {
                let change = crm_core::stage::change(Some(&left), None);
                g.push_event(
                    t,
                    NewEvent::stage_changed(at, actor, TicketStatus::New, None, change),
                );
            }
        }
        drop(g);
        if !open.is_empty() {
            self.changed(Change::Events);
        }
        self.changed(Change::Account(id));
        Ok(open.len() as u64)
    }
}
