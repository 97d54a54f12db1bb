//! Stages: the steps a shop names within a status ("Waiting for parts" while in progress,
//! "Ready for pickup" when done). The three statuses and their transitions stay the contract;
//! a stage only says more about where a ticket stands, so every rule here is about keeping the
//! two consistent: a ticket's stage always belongs to the status it has.

use crate::{ids::StageId, status::TicketStatus};
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

/// A stage name as checked: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageName(String);

impl StageName {
    /// Checks a name; the error is a sentence for the `name` field.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Give the stage a name.".into());
        }
        if name.chars().count() > MAX_NAME {
            return Err(format!("A stage name is at most {MAX_NAME} characters."));
        }
        if name.chars().any(char::is_control) {
            return Err("A stage name is one line of text.".into());
        }
        Ok(Self(name.to_owned()))
    }
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
