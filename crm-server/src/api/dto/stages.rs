//! Stage bodies: the stages themselves, a ticket's stage, moves and the per-stage statistics.

use super::{Status, Text};
use crm_core::{Stage, StageRef, StageStats};
use poem_openapi::{Object, types::Example};

/// A stage within a status.
#[derive(Object, Debug)]
pub struct StageBody {
    /// Identity.
    pub id: i64,
    /// The status it belongs to, for good.
    pub status: Status,
    /// What staff and the customer read.
    pub name: String,
    /// Whether entering it e-mails the customer, naming it.
    pub notify_customer: bool,
    /// Its place among its status's stages, from 0.
    pub position: u32,
}

impl From<Stage> for StageBody {
    fn from(s: Stage) -> Self {
        Self {
            id: s.id.0,
            status: s.status.into(),
            name: s.name.as_ref().to_owned(),
            notify_customer: s.notify_customer,
            position: s.position,
        }
    }
}

/// Every stage, by status and position.
#[derive(Object, Debug)]
pub struct StagesBody {
    /// The stages.
    pub items: Vec<StageBody>,
}

impl From<Vec<Stage>> for StagesBody {
    fn from(v: Vec<Stage>) -> Self {
        Self {
            items: v.into_iter().map(Into::into).collect(),
        }
    }
}

/// A ticket's stage.
#[derive(Object, Debug, Clone)]
pub struct StageRefBody {
    /// The stage.
    pub id: i64,
    /// Its name.
    pub name: String,
}

impl From<StageRef> for StageRefBody {
    fn from(s: StageRef) -> Self {
        Self {
            id: s.id.0,
            name: s.name,
        }
    }
}

/// A new stage, added after the last of its status.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct CreateStageRequest {
    /// The status it belongs to (it never changes).
    pub status: Status,
    /// 1-64 characters, one line.
    pub name: Text,
    /// Whether entering it e-mails the customer (default false).
    pub notify_customer: Option<bool>,
}

impl Example for CreateStageRequest {
    fn example() -> Self {
        Self {
            status: Status::InProgress,
            name: "Waiting for parts".into(),
            notify_customer: Some(false),
        }
    }
}

/// A stage edit: only the fields given change.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct EditStageRequest {
    /// A new name, 1-64 characters.
    pub name: Option<Text>,
    /// A new notify flag.
    pub notify_customer: Option<bool>,
    /// A new place among its status's stages, from 0 (the others close up; past the last
    /// place means last).
    pub position: Option<i64>,
}

impl Example for EditStageRequest {
    fn example() -> Self {
        Self {
            name: Some("Ready for pickup".into()),
            notify_customer: Some(true),
            position: Some(0),
        }
    }
}

/// Move a ticket within its status.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields, example)]
pub struct StageRequest {
    /// A stage of the ticket's status, or null for none.
    pub stage_id: Option<i64>,
}

impl Example for StageRequest {
    fn example() -> Self {
        Self { stage_id: Some(2) }
    }
}

/// One stage's statistics.
#[derive(Object, Debug)]
pub struct StageStatsBody {
    /// The stage.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// Tickets in it now.
    pub tickets: u64,
    /// Mean length of a finished stay in it, in seconds; null before the first one ends.
    pub avg_seconds: Option<f64>,
}

impl From<StageStats> for StageStatsBody {
    fn from(s: StageStats) -> Self {
        Self {
            id: s.id.0,
            name: s.name,
            status: s.status.into(),
            tickets: s.tickets,
            avg_seconds: s.avg_seconds,
        }
    }
}
