//! Automatic assignment: the shop's settings and each worker's availability.

use super::{
    AppState, Tag,
    dto::{AvailabilityRequest, UserBody},
};
use crate::{
    auth::{AdminAuth, StaffAuth},
    error::ApiError,
};
use crm_core::{AssignmentMode, AssignmentSettings, Store, UserId};
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json, types::Example};

/// How new tickets find a worker.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ModeBody {
    /// Tickets wait for an admin.
    Off,
    /// To the available worker with the fewest open tickets (ties: assigned longest ago, then
    /// the lowest id).
    LeastOpen,
    /// To the next available worker after the last one chosen, in id order.
    RoundRobin,
}

impl From<ModeBody> for AssignmentMode {
    fn from(m: ModeBody) -> Self {
        match m {
            ModeBody::Off => Self::Off,
            ModeBody::LeastOpen => Self::LeastOpen,
            ModeBody::RoundRobin => Self::RoundRobin,
        }
    }
}

impl From<AssignmentMode> for ModeBody {
    fn from(m: AssignmentMode) -> Self {
        match m {
            AssignmentMode::Off => Self::Off,
            AssignmentMode::LeastOpen => Self::LeastOpen,
            AssignmentMode::RoundRobin => Self::RoundRobin,
        }
    }
}

/// The automatic assignment settings.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct AssignmentBody {
    /// `off` (the default), `least_open` or `round_robin`.
    pub mode: ModeBody,
    /// A worker with this many open (`new` or `in_progress`) tickets is not chosen; null for
    /// no limit. Manual assignments are not held to it.
    pub max_open_per_worker: Option<u32>,
}

impl Example for AssignmentBody {
    fn example() -> Self {
        Self {
            mode: ModeBody::LeastOpen,
            max_open_per_worker: Some(10),
        }
    }
}

impl From<AssignmentSettings> for AssignmentBody {
    fn from(s: AssignmentSettings) -> Self {
        Self {
            mode: s.mode.into(),
            max_open_per_worker: s.max_open_per_worker,
        }
    }
}

impl From<&AssignmentBody> for AssignmentSettings {
    fn from(b: &AssignmentBody) -> Self {
        Self {
            mode: b.mode.into(),
            max_open_per_worker: b.max_open_per_worker,
        }
    }
}

/// Automatic assignment.
pub struct SettingsApi<S>(pub AppState<S>);

#[OpenApi(tag = "Tag::Users")]
impl<S: Store> SettingsApi<S> {
    /// Automatic assignment settings
    #[oai(path = "/settings/assignment", method = "get")]
    async fn get(&self, auth: AdminAuth) -> Result<Json<AssignmentBody>, ApiError> {
        Ok(Json(
            self.0.crm.assignment_settings(&auth.0.actor).await?.into(),
        ))
    }

    /// Change automatic assignment
    ///
    /// With a mode on, a new ticket goes to an eligible worker when it is submitted; tickets
    /// that find none wait, and are assigned oldest first as soon as a worker becomes
    /// eligible. Changing the settings assigns waiting tickets at once.
    #[oai(path = "/settings/assignment", method = "put")]
    async fn put(
        &self,
        auth: AdminAuth,
        body: Json<AssignmentBody>,
    ) -> Result<Json<AssignmentBody>, ApiError> {
        let s = self
            .0
            .crm
            .set_assignment_settings(&auth.0.actor, (&body.0).into())
            .await?;
        Ok(Json(s.into()))
    }

    /// Set availability
    ///
    /// Whether automatic assignment may choose this worker. Admins set anyone's; a worker its
    /// own. Becoming available assigns waiting tickets at once.
    #[oai(path = "/users/:id/availability", method = "put")]
    async fn availability(
        &self,
        auth: StaffAuth,
        id: Path<i64>,
        body: Json<AvailabilityRequest>,
    ) -> Result<Json<UserBody>, ApiError> {
        let u = self
            .0
            .crm
            .set_availability(&auth.0.actor, UserId(id.0), body.available)
            .await?;
        Ok(Json(u.into()))
    }
}
