//! Stages: the steps a shop names within a status ("Waiting for parts" while in progress,
//! "Ready for pickup" when done). The three statuses and their transitions stay the contract;
//! a stage only says more about where a ticket stands, so every rule here is about keeping the
//! two consistent: a ticket's stage always belongs to the status it has.

use crate::{
    error::StoreError,
    history::FieldChange,
    ids::{StageId, TicketId, UserId},
    status::TicketStatus,
    store::ExpectedState,
    ticket::Ticket,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest stage name, in characters.
pub const MAX_NAME: usize = 64;

/// The stages a fresh store starts with, in order within their status, and whether entering
/// each e-mails the customer. Shops rename, reorder and add to them.
pub const DEFAULT_STAGES: &[(TicketStatus, &str, bool)] = &[
    (TicketStatus::InProgress, "Diagnosing", false),
    (TicketStatus::InProgress, "Waiting for parts", false),
    (
        TicketStatus::InProgress,
        "Waiting for customer approval",
        false,
    ),
    (TicketStatus::InProgress, "Repairing", false),
    (TicketStatus::Done, "Ready for pickup", true),
    (TicketStatus::Done, "Collected", false),
];

/// A stage name as checked: no forbidden control character
/// ([`crate::input::is_forbidden_control`]), trimmed, 1 to [`MAX_NAME`] characters, one line
/// (no tab or line break inside).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageName(String);

impl StageName {
    /// Checks a name; the error is a sentence for the `name` field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        crate::input::reject_controls(raw, "Stage name")?;
        let name = raw.trim();
        if name.is_empty() {
            return Err("Give the stage a name.".into());
        }
        if name.chars().count() > MAX_NAME {
            return Err(format!("A stage name is at most {MAX_NAME} characters."));
        }
        if name.chars().any(is_line_break) {
            return Err("A stage name is one line of text.".into());
        }
        Ok(Self(name.to_owned()))
    }
}

/// The characters a stage name may not hold inside: tabs and line breaks.
pub fn is_line_break(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

impl AsRef<str> for StageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// One stage as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its id.
    pub id: StageId,
    /// The status it belongs to, for good.
    pub status: TicketStatus,
    /// What staff and the customer read.
    pub name: StageName,
    /// Whether entering it e-mails the customer, naming it.
    pub notify_customer: bool,
    /// Its place among its status's stages, from 0.
    pub position: u32,
}

impl Stage {
    /// The stage as a ticket names it.
    pub fn to_ref(&self) -> StageRef {
        StageRef {
            id: self.id,
            name: self.name.as_ref().to_owned(),
        }
    }
}

/// A ticket's stage as the ticket shows it: enough to draw a chip and to link to the filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRef {
    /// The stage.
    pub id: StageId,
    /// Its name now.
    pub name: String,
}

/// A stage to add at the end of its status's stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStage {
    /// The status it belongs to.
    pub status: TicketStatus,
    /// Its name.
    pub name: StageName,
    /// Whether entering it e-mails the customer.
    pub notify_customer: bool,
}

/// What a stage edit sets; `None` keeps the field. A new position moves the stage among its
/// status's stages (the others close up), clamped to the last place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagePatch {
    /// A new name.
    pub name: Option<StageName>,
    /// A new notify flag.
    pub notify_customer: Option<bool>,
    /// A new place, from 0.
    pub position: Option<u32>,
}

/// A move within the ticket's status, compare-and-set on the state it was decided against
/// (status, worker and the stage it leaves), like a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageChange {
    /// The ticket.
    pub ticket_id: TicketId,
    /// The status and worker read.
    pub expected: ExpectedState,
    /// The stage read (the event's `from`).
    pub from: Option<StageRef>,
    /// The stage it enters, or none.
    pub to: Option<Stage>,
    /// Who moves it.
    pub actor: UserId,
    /// When; becomes `updated_at`.
    pub at: DateTime<Utc>,
}

impl StageChange {
    /// The `stage_changed` event the move records; both backends write exactly this one.
    pub fn event(&self) -> crate::history::NewEvent {
        crate::history::NewEvent::stage_changed(
            self.at,
            self.actor,
            self.expected.status,
            self.expected.worker_id,
            change(self.from.as_ref(), self.to.as_ref()),
        )
    }
}

/// The running figures of one stage, as a store keeps them: tickets in it now, and the
/// visits that ended with their summed length (a ticket that left it, by a stage or status
/// change or a release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageFigures {
    /// The stage.
    pub stage_id: StageId,
    /// Tickets in it now.
    pub tickets: u64,
    /// Finished stays in it.
    pub visits: u64,
    /// Their summed length, in microseconds.
    pub micros_sum: i128,
}

/// One stage's line of the statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStats {
    /// The stage.
    pub id: StageId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: TicketStatus,
    /// Tickets in it now.
    pub tickets: u64,
    /// Mean length of a finished stay in it, in seconds; `None` before the first one ends.
    pub avg_seconds: Option<f64>,
}

/// Statistics with the per-stage lines, in the order of the stages.
pub fn stage_stats(stages: &[Stage], figures: &[StageFigures]) -> Vec<StageStats> {
    stages
        .iter()
        .map(|s| {
            let f = figures.iter().filter(|f| f.stage_id == s.id).fold(
                StageFigures {
                    stage_id: s.id,
                    tickets: 0,
                    visits: 0,
                    micros_sum: 0,
                },
                |a, f| StageFigures {
                    stage_id: s.id,
                    tickets: a.tickets + f.tickets,
                    visits: a.visits + f.visits,
                    micros_sum: a.micros_sum + f.micros_sum,
                },
            );
            StageStats {
                id: s.id,
                name: s.name.as_ref().to_owned(),
                status: s.status,
                tickets: f.tickets,
                avg_seconds: (f.visits > 0).then(|| f.micros_sum as f64 / f.visits as f64 / 1e6),
            }
        })
        .collect()
}

/// The field name a stage move is recorded under in an event's changes.
pub const FIELD: &str = "stage";

/// How an event records a move from `from` to `to`: the names as they were, and whether
/// entering `to` e-mailed the customer (the e-mail rule reads it from the event).
pub fn change(from: Option<&StageRef>, to: Option<&Stage>) -> FieldChange {
    FieldChange {
        field: FIELD.into(),
        from: from.map_or(
            serde_json::Value::Null,
            |f| serde_json::json!({ "id": f.id.0, "name": f.name }),
        ),
        to: to.map_or(serde_json::Value::Null, |t| {
            serde_json::json!({
                "id": t.id.0,
                "name": t.name.as_ref(),
                "notify_customer": t.notify_customer,
            })
        }),
    }
}

/// Whether these changes enter a stage that e-mails the customer.
pub fn enters_notifying(changes: &[FieldChange]) -> bool {
    changes.iter().any(|c| {
        c.field == FIELD
            && c.to
                .get("notify_customer")
                .and_then(serde_json::Value::as_bool)
                == Some(true)
    })
}

/// The stages, admin-managed, and the moves of tickets between them. Stages are seeded
/// ([`DEFAULT_STAGES`]) when a store is created, never again.
#[async_trait]
pub trait StageStore: Send + Sync + 'static {
    /// Every stage, by status (`new`, `in_progress`, `done`) and position.
    async fn list_stages(&self) -> Result<Vec<Stage>, StoreError>;

    /// Adds a stage after the last of its status.
    async fn create_stage(&self, new: NewStage) -> Result<Stage, StoreError>;

    /// Edits a stage ([`StoreError::NotFound`] when there is none); a move shifts the others
    /// of its status in the same step.
    async fn update_stage(&self, id: StageId, patch: StagePatch) -> Result<Stage, StoreError>;

    /// Removes a stage no ticket is in: [`StoreError::StageInUse`] otherwise, settled by the
    /// store against a ticket entering it at the same moment.
    async fn delete_stage(&self, id: StageId) -> Result<(), StoreError>;

    /// Moves a ticket to another stage of its status (or none), compare-and-set on
    /// [`StageChange::expected`] and [`StageChange::from`], with its `stage_changed` event.
    /// [`StoreError::Stale`] when the ticket moved on, [`StoreError::UnknownStage`] when the
    /// stage was removed meanwhile.
    async fn set_stage(&self, change: StageChange) -> Result<Ticket, StoreError>;

    /// The stage figures of one worker's tickets, or of all; a stage without any may be
    /// missing.
    async fn stage_figures(&self, worker: Option<UserId>) -> Result<Vec<StageFigures>, StoreError>;
}

/// Why a stage cannot be where it is asked to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageMismatch {
    /// The stage belongs to another status than the one the ticket has (or will have).
    OtherStatus {
        /// The stage's status.
        stage: TicketStatus,
        /// The ticket's status after the change.
        ticket: TicketStatus,
    },
}

impl StageMismatch {
    /// The sentence for the `stage_id` field.
    pub fn message(self, name: &str) -> String {
        match self {
            Self::OtherStatus { stage, ticket } => format!(
                "The stage \"{name}\" belongs to tickets that are {}, and this one will be {}.",
                stage.as_str().replace('_', " "),
                ticket.as_str().replace('_', " ")
            ),
        }
    }
}

/// Whether a ticket that is (or is about to be) `status` may stand in `stage`.
pub fn fits(stage: &Stage, status: TicketStatus) -> Result<(), StageMismatch> {
    if stage.status == status {
        Ok(())
    } else {
        Err(StageMismatch::OtherStatus {
            stage: stage.status,
            ticket: status,
        })
    }
}

/// The stage a status change leaves the ticket in: the one asked for, or none (a status change
/// without a stage clears it, so a ticket never keeps a stage of the status it left).
pub fn after_status_change(
    stage: Option<&Stage>,
    next: TicketStatus,
) -> Result<Option<StageId>, StageMismatch> {
    match stage {
        None => Ok(None),
        Some(s) => fits(s, next).map(|()| Some(s.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(status: TicketStatus) -> Stage {
        Stage {
            id: StageId(7),
            status,
            name: StageName::parse("Waiting for parts").unwrap(),
            notify_customer: false,
            position: 1,
        }
    }

    #[test]
    fn names_are_one_short_line() {
        assert_eq!(
            StageName::parse("  Ready for pickup ").unwrap().as_ref(),
            "Ready for pickup"
        );
        assert!(StageName::parse("   ").is_err());
        assert!(StageName::parse(&"x".repeat(MAX_NAME)).is_ok());
        assert!(StageName::parse(&"x".repeat(MAX_NAME + 1)).is_err());
        assert!(StageName::parse("Waiting\nfor parts").is_err());
    }

    #[test]
    fn a_stage_belongs_to_one_status() {
        let s = stage(TicketStatus::InProgress);
        assert_eq!(fits(&s, TicketStatus::InProgress), Ok(()));
        let e = fits(&s, TicketStatus::Done).unwrap_err();
        assert_eq!(
            e.message("Waiting for parts"),
            "The stage \"Waiting for parts\" belongs to tickets that are in progress, and this one will be done."
        );
    }

    #[test]
    fn a_status_change_without_a_stage_clears_it() {
        assert_eq!(after_status_change(None, TicketStatus::Done), Ok(None));
        let s = stage(TicketStatus::Done);
        assert_eq!(
            after_status_change(Some(&s), TicketStatus::Done),
            Ok(Some(StageId(7)))
        );
        assert!(after_status_change(Some(&s), TicketStatus::InProgress).is_err());
    }

    #[test]
    fn the_defaults_are_valid_and_new_has_none() {
        for (status, name, _) in DEFAULT_STAGES {
            assert!(StageName::parse(name).is_ok());
            assert_ne!(
                *status,
                TicketStatus::New,
                "a new ticket has no stage by default"
            );
        }
        assert!(
            DEFAULT_STAGES
                .iter()
                .any(|(s, n, notify)| *s == TicketStatus::Done
                    && *n == "Ready for pickup"
                    && *notify)
        );
    }
}
