//! Automatic assignment through the facade: the settings, availability, and the drain that
//! runs after every change that can make a worker eligible or a ticket wait.

use super::{Crm, not_found, require};
use crate::{
    assignment::AssignmentSettings,
    error::{CoreError, StoreError},
    ids::UserId,
    input::ValidationErrors,
    role::{Actor, Permission},
    store::Store,
    user::User,
};

impl<S: Store> Crm<S> {
    /// The assignment settings (admins only).
    pub async fn assignment_settings(
        &self,
        actor: &Actor,
    ) -> Result<AssignmentSettings, CoreError> {
        require(actor, Permission::ManageAssignment)?;
        self.store
            .assignment_settings()
            .await
            .map_err(CoreError::from_store)
    }

    /// Replaces the assignment settings (admins only); waiting tickets are assigned at once
    /// under the new ones. A limit is 1 or more (`None`: no limit).
    pub async fn set_assignment_settings(
        &self,
        actor: &Actor,
        settings: AssignmentSettings,
    ) -> Result<AssignmentSettings, CoreError> {
        require(actor, Permission::ManageAssignment)?;
        if settings.max_open_per_worker == Some(0) {
            return Err(ValidationErrors::one(
                "max_open_per_worker",
                "A limit is 1 or more; leave it empty for no limit.",
            )
            .into());
        }
        self.store
            .set_assignment_settings(settings)
            .await
            .map_err(CoreError::from_store)?;
        self.assign_waiting().await?;
        Ok(settings)
    }

    /// Marks an account available for automatic assignment or not: admins for anyone, a worker
    /// for itself. Becoming available assigns waiting tickets at once.
    pub async fn set_availability(
        &self,
        actor: &Actor,
        user: UserId,
        available: bool,
    ) -> Result<User, CoreError> {
        if user != actor.id {
            require(actor, Permission::SetOthersAvailability)?;
        }
        let u = self
            .store
            .set_availability(user, available)
            .await
            .map_err(not_found("User"))?;
        if available {
            self.assign_waiting().await?;
        }
        Ok(u)
    }

    /// [`Crm::assign_waiting`] after a change that already succeeded: a failure here must not
    /// turn that success into an error (the ticket is stored; the server's periodic pass, or
    /// the next change, assigns it), so it is logged instead.
    pub(super) async fn assign_waiting_after_change(&self) {
        if let Err(e) = self.assign_waiting().await {
            tracing::warn!(error = %e, "automatic assignment did not run; it is retried");
        }
    }

    /// Gives waiting tickets to eligible workers, if automatic assignment is on. Called after
    /// every change that can free a worker or add a waiting ticket; safe to call any time.
    pub async fn assign_waiting(&self) -> Result<usize, CoreError> {
        match self.store.assign_waiting(self.clock.now()).await {
            Ok(done) => Ok(done.len()),
            Err(StoreError::NotFound) => Ok(0),
            Err(e) => Err(CoreError::from_store(e)),
        }
    }
}
