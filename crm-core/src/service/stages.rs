//! Stages through the facade: the admins' list of them, and moving a ticket between the
//! stages of its status.

use super::{Crm, not_found, require, tickets::RACE_ATTEMPTS};
use crate::{
    error::{CoreError, StoreError},
    ids::{StageId, TicketId},
    input::ValidationErrors,
    role::{Actor, Permission},
    stage::{self, NewStage, Stage, StageChange, StageName, StagePatch},
    status::TicketStatus,
    store::{ExpectedState, Store},
    ticket::Ticket,
};

/// A stage edit as received, before validation.
#[derive(Debug, Clone, Default)]
pub struct EditStage {
    /// A new name.
    pub name: Option<String>,
    /// A new notify flag.
    pub notify_customer: Option<bool>,
    /// A new place among its status's stages, from 0.
    pub position: Option<i64>,
}

/// The refusal for a stage that was removed between the check and the write.
pub(crate) fn stage_gone() -> CoreError {
    ValidationErrors::one("stage_id", "That stage was just removed; choose another.").into()
}

impl<S: Store> Crm<S> {
    /// Every stage, by status and position: what the pickers and chips show (any staff).
    pub async fn stages(&self, _actor: &Actor) -> Result<Vec<Stage>, CoreError> {
        self.store
            .list_stages()
            .await
            .map_err(CoreError::from_store)
    }

    /// Adds a stage at the end of `status`'s stages (admins only).
    pub async fn create_stage(
        &self,
        actor: &Actor,
        status: TicketStatus,
        name: &str,
        notify_customer: bool,
    ) -> Result<Stage, CoreError> {
        require(actor, Permission::ManageStages)?;
        let name = StageName::parse(name).map_err(|m| ValidationErrors::one("name", m))?;
        self.store
            .create_stage(NewStage {
                status,
                name,
                notify_customer,
            })
            .await
            .map_err(CoreError::from_store)
    }

    /// Renames, re-flags or moves a stage (admins only). The status it belongs to never
    /// changes: tickets in it would stand in a stage of another status.
    pub async fn edit_stage(
        &self,
        actor: &Actor,
        id: StageId,
        edit: EditStage,
    ) -> Result<Stage, CoreError> {
        require(actor, Permission::ManageStages)?;
        let mut errs = ValidationErrors::default();
        let name = edit
            .name
            .as_deref()
            .and_then(|n| errs.check("name", StageName::parse(n)));
        let position = edit.position.and_then(|p| {
            errs.check(
                "position",
                u32::try_from(p)
                    .ok()
                    .filter(|&p| p < 1000)
                    .ok_or_else(|| format!("position must be 0 to 999, not {p}.")),
            )
        });
        if !errs.is_empty() {
            return Err(errs.into());
        }
        self.store
            .update_stage(
                id,
                StagePatch {
                    name,
                    notify_customer: edit.notify_customer,
                    position,
                },
            )
            .await
            .map_err(not_found("Stage"))
    }

    /// Removes a stage no ticket is in (admins only): `stage_in_use` otherwise.
    pub async fn delete_stage(&self, actor: &Actor, id: StageId) -> Result<(), CoreError> {
        require(actor, Permission::ManageStages)?;
        match self.store.delete_stage(id).await {
            Ok(()) => Ok(()),
            Err(StoreError::StageInUse) => Err(CoreError::StageInUse),
            Err(e) => Err(not_found("Stage")(e)),
        }
    }

    /// Moves a ticket to `stage` of its current status, or out of any (`None`), by whoever
    /// may change its status. Racing moves and status changes apply once each, in some
    /// order, and the ticket's stage always belongs to its status.
    pub async fn set_stage(
        &self,
        actor: &Actor,
        id: TicketId,
        stage: Option<StageId>,
    ) -> Result<Ticket, CoreError> {
        let stage = match stage {
            Some(s) => Some(self.known_stage(s).await?),
            None => None,
        };
        let ticket = self
            .store
            .get_ticket(id, actor.visibility())
            .await
            .map_err(not_found("Ticket"))?;
        self.move_stage(actor, ticket, stage).await
    }

    /// The stage `id`, checked to belong to `status` (the ticket's status after the change).
    pub(crate) async fn stage_for(
        &self,
        id: StageId,
        status: TicketStatus,
    ) -> Result<Stage, CoreError> {
        let stage = self.known_stage(id).await?;
        stage::fits(&stage, status)
            .map_err(|m| ValidationErrors::one("stage_id", m.message(stage.name.as_ref())))?;
        Ok(stage)
    }

    async fn known_stage(&self, id: StageId) -> Result<Stage, CoreError> {
        self.store
            .list_stages()
            .await
            .map_err(CoreError::from_store)?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                ValidationErrors::one("stage_id", format!("There is no stage {id}.")).into()
            })
    }

    /// Moves `ticket` (as read) to `stage`, re-reading and deciding again when it moved on.
    pub(crate) async fn move_stage(
        &self,
        actor: &Actor,
        mut ticket: Ticket,
        stage: Option<Stage>,
    ) -> Result<Ticket, CoreError> {
        for _ in 0..RACE_ATTEMPTS {
            if ticket.stage.as_ref().map(|s| s.id) == stage.as_ref().map(|s| s.id) {
                return Ok(ticket);
            }
            if let Some(s) = &stage {
                stage::fits(s, ticket.status)
                    .map_err(|m| ValidationErrors::one("stage_id", m.message(s.name.as_ref())))?;
            }
            let change = StageChange {
                ticket_id: ticket.id,
                expected: ExpectedState {
                    status: ticket.status,
                    worker_id: ticket.worker_id,
                },
                from: ticket.stage.clone(),
                to: stage.clone(),
                actor: actor.id,
                at: self.clock.now(),
            };
            match self.store.set_stage(change).await {
                Ok(t) => return Ok(t),
                Err(StoreError::Stale) => {
                    ticket = self
                        .store
                        .get_ticket(ticket.id, actor.visibility())
                        .await
                        .map_err(not_found("Ticket"))?;
                }
                Err(StoreError::UnknownStage) => return Err(stage_gone()),
                Err(e) => return Err(not_found("Ticket")(e)),
            }
        }
        Err(CoreError::Busy)
    }
}
