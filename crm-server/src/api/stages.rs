//! Stages: the admins' list of them, and moving a ticket within its status.

use super::{
    AppState, Tag,
    dto::{CreateStageRequest, EditStageRequest, StageBody, StageRequest, StagesBody, TicketBody},
};
use crate::{
    auth::{AdminAuth, StaffAuth},
    error::ApiError,
};
use crm_core::{EditStage, StageId, Store, TicketId};
use poem_openapi::{ApiResponse, OpenApi, param::Path, payload::Json};

/// The outcome of adding a stage.
#[derive(ApiResponse)]
pub enum CreateStageResponse {
    /// Added after the last stage of its status.
    #[oai(status = 201)]
    Created(Json<StageBody>),
}

/// The outcome of removing a stage.
#[derive(ApiResponse)]
pub enum DeleteStageResponse {
    /// Removed; the others of its status close up.
    #[oai(status = 204)]
    Deleted,
}

/// Stages within the statuses.
pub struct StagesApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Tickets")]
impl<S: Store> StagesApi<S> {
    /// The stages
    ///
    /// Every stage, by status (`new`, `in_progress`, `done`) and position: what the stage
    /// pickers offer. Any staff member.
    #[oai(path = "/settings/stages", method = "get")]
    async fn list(&self, auth: StaffAuth) -> Result<Json<StagesBody>, ApiError> {
        Ok(Json(self.0.crm.stages(&auth.0.actor).await?.into()))
    }

    /// Add a stage
    ///
    /// Admins only. The stage belongs to its status for good.
    #[oai(path = "/settings/stages", method = "post")]
    async fn create(
        &self,
        auth: AdminAuth,
        body: Json<CreateStageRequest>,
    ) -> Result<CreateStageResponse, ApiError> {
        let s = self
            .0
            .crm
            .create_stage(
                &auth.0.actor,
                body.status.into(),
                &body.name.0,
                body.notify_customer.unwrap_or(false),
            )
            .await?;
        Ok(CreateStageResponse::Created(Json(s.into())))
    }

    /// Change a stage
    ///
    /// Admins only: rename, turn the customer e-mail on or off, or move it among its
    /// status's stages.
    #[oai(path = "/settings/stages/:id", method = "patch")]
    async fn edit(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
        body: Json<EditStageRequest>,
    ) -> Result<Json<StageBody>, ApiError> {
        let b = body.0;
        let s = self
            .0
            .crm
            .edit_stage(
                &auth.0.actor,
                StageId(id.0),
                EditStage {
                    name: b.name.map(|n| n.0),
                    notify_customer: b.notify_customer,
                    position: b.position,
                },
            )
            .await?;
        Ok(Json(s.into()))
    }

    /// Remove a stage
    ///
    /// Admins only, and only while no ticket is in it (`409 stage_in_use`).
    #[oai(path = "/settings/stages/:id", method = "delete")]
    async fn delete(
        &self,
        auth: AdminAuth,
        id: Path<i64>,
    ) -> Result<DeleteStageResponse, ApiError> {
        self.0
            .crm
            .delete_stage(&auth.0.actor, StageId(id.0))
            .await?;
        Ok(DeleteStageResponse::Deleted)
    }

    /// Move a ticket to a stage
    ///
    /// Within its current status (`stage_id` null: out of any stage), by whoever may change
    /// its status. A stage of another status is `422`.
    #[oai(path = "/tickets/:id/stage", method = "post")]
    async fn stage(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<StageRequest>,
    ) -> Result<Json<TicketBody>, ApiError> {
        let t = self
            .0
            .crm
            .set_stage(&auth.0.actor, TicketId(id.0), body.stage_id.map(StageId))
            .await?;
        Ok(Json(t.into()))
    }
}
