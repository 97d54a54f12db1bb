//! The ticket state machine: `new -> in_progress -> done`, written once as data.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// Where a repair request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Submitted, not started (possibly assigned).
    New,
    /// A worker is on it.
    InProgress,
    /// Finished; the ticket is closed to reassignment and no longer blocks a resubmission.
    Done,
}

impl TicketStatus {
    /// Every status, in workflow order.
    pub const ALL: [TicketStatus; 3] = [Self::New, Self::InProgress, Self::Done];

    /// How many statuses there are: the length of any per-status table.
    pub const COUNT: usize = Self::ALL.len();

    /// Position in [`TicketStatus::ALL`], so per-status tables (indexes, counters, the
    /// PostgreSQL search copy's status code) are arrays indexed by status, not maps.
    pub fn index(self) -> usize {
        match self {
            Self::New => 0,
            Self::InProgress => 1,
            Self::Done => 2,
        }
    }

    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    /// The statuses a ticket may move to from here (a same-status "move" is a no-op, not a step).
    pub fn next(self) -> &'static [TicketStatus] {
        match self {
            Self::New => &[Self::InProgress],
            Self::InProgress => &[Self::Done],
            Self::Done => &[],
        }
    }

    /// Whether `self -> next` is a step of the state machine.
    pub fn can_become(self, next: TicketStatus) -> bool {
        self.next().contains(&next)
    }

    /// Open tickets block duplicates and are released when their worker is deleted.
    pub fn is_open(self) -> bool {
        self != Self::Done
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "new" => Ok(Self::New),
            "in_progress" => Ok(Self::InProgress),
            "done" => Ok(Self::Done),
            other => Err(format!(
                "Unknown status {other:?}; expected one of new, in_progress, done."
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TicketStatus::*;
    use super::*;

    #[test]
    fn transition_table() {
        assert!(New.can_become(InProgress));
        assert!(InProgress.can_become(Done));
        for (from, to) in [
            (New, Done),
            (InProgress, New),
            (Done, New),
            (Done, InProgress),
        ] {
            assert!(!from.can_become(to), "{from} -> {to}");
        }
        for (i, s) in TicketStatus::ALL.into_iter().enumerate() {
            assert_eq!(s.index(), i);
            assert!(!s.can_become(s), "same status is a no-op, not a step");
            assert_eq!(s.as_str().parse::<TicketStatus>().unwrap(), s);
        }
        assert!(Done.next().is_empty());
        assert!("closed".parse::<TicketStatus>().is_err());
    }
}
