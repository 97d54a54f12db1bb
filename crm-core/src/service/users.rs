//! Staff accounts: creating, listing, deleting, and seeding the first ones.

use super::{Crm, DefaultAccount, ListUsers, require};
use crate::{
    error::{CoreError, StoreError},
    ids::UserId,
    input::{Password, Username, ValidationErrors},
    page::{Page, PageRequest, UserQuery, parse_list},
    role::{Actor, Permission, Role},
    store::Store,
    user::{NewUser, SessionKey, User},
};

impl<S: Store> Crm<S> {
    /// Creates an account (admins only). The password is hashed with argon2id off the runtime.
    pub async fn create_user(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<User, CoreError> {
        require(actor, Permission::CreateUsers)?;
        let new = self
            .new_user(username, password, role, Some(actor.id), false)
            .await?;
        let user = self.store.create_user(new).await.map_err(|e| match e {
            StoreError::UsernameTaken => CoreError::UsernameTaken,
            other => CoreError::from_store(other),
        })?;
        if role == Role::Worker {
            self.assign_waiting_after_change().await;
        }
        Ok(user)
    }

    /// Lists active accounts (admins only).
    pub async fn list_users(&self, actor: &Actor, req: ListUsers) -> Result<Page<User>, CoreError> {
        require(actor, Permission::ListUsers)?;
        let (page, search) = parse_list(
            req.page,
            req.size,
            req.cursor.as_deref(),
            req.search.as_deref(),
        )?;
        let query = UserQuery {
            search,
            role: req.role,
            page,
        };
        self.store
            .list_users(&query)
            .await
            .map_err(CoreError::from_store)
    }

    /// Deletes (deactivates) an account (admins only) and releases its open tickets. An admin
    /// cannot delete itself, and the last active admin cannot be deleted. Returns how many
    /// tickets went back to the queue.
    pub async fn delete_user(&self, actor: &Actor, id: UserId) -> Result<u64, CoreError> {
        require(actor, Permission::DeleteUsers)?;
        if id == actor.id {
            return Err(CoreError::CannotDeleteSelf);
        }
        let released = self
            .store
            .deactivate_user(id, actor.id, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => CoreError::NotFound("User"),
                StoreError::LastAdmin => CoreError::LastAdmin,
                other => CoreError::from_store(other),
            })?;
        if released > 0 {
            // Its open tickets wait again, like new ones.
            self.assign_waiting_after_change().await;
        }
        Ok(released)
    }

    /// Creates the given accounts if, and only if, the store has no users at all (first start).
    /// Safe when several replicas start at once. Returns whether they were created.
    pub async fn ensure_default_accounts(
        &self,
        accounts: &[DefaultAccount],
    ) -> Result<bool, CoreError> {
        // Every restart after the first finds accounts: skip the argon2 work then. The seeding
        // below stays atomic on its own; this read only saves time.
        let existing = self
            .store
            .list_users(&UserQuery {
                page: PageRequest::new(Some(1), Some(1))?,
                ..UserQuery::default()
            })
            .await
            .map_err(CoreError::from_store)?;
        if existing.total > 0 {
            return Ok(false);
        }
        let mut users = Vec::with_capacity(accounts.len());
        for a in accounts {
            users.push(
                self.new_user(
                    &a.username,
                    a.password.expose(),
                    a.role,
                    None,
                    a.must_change_password,
                )
                .await?,
            );
        }
        self.store.seed_users(users).await.map_err(|e| match e {
            StoreError::UsernameTaken => CoreError::UsernameTaken,
            other => CoreError::from_store(other),
        })
    }

    async fn new_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        created_by: Option<UserId>,
        must_change_password: bool,
    ) -> Result<NewUser, CoreError> {
        let mut errs = ValidationErrors::default();
        let username = errs.check("username", Username::parse(username));
        let password = errs.check("password", Password::parse(password));
        let (Some(username), Some(password)) = (username, password) else {
            return Err(errs.into());
        };
        Ok(NewUser {
            username,
            password_hash: self.passwords.hash(password.expose().to_owned()).await?,
            role,
            created_at: self.clock.now(),
            session_key: SessionKey::generate(),
            must_change_password,
            created_by,
        })
    }
}
