//! Roles and what each may do, as data and pure functions, so the facade never improvises.

use crate::ids::UserId;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What a staff account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and acts on everything; manages accounts.
    Admin,
    /// Sees and progresses only the tickets assigned to it.
    Worker,
}

impl Role {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Worker => "worker",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "worker" => Ok(Self::Worker),
            other => Err(format!("Unknown role {other:?}; expected admin or worker.")),
        }
    }
}

/// The authenticated user a call is made for, as just read from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// Who.
    pub id: UserId,
    /// With which powers.
    pub role: Role,
}

impl Actor {
    /// Which tickets this actor may see at all. Every ticket read and list is filtered by it
    /// inside the store query, never checked after fetching.
    pub fn visibility(&self) -> Visibility {
        match self.role {
            Role::Admin => Visibility::All,
            Role::Worker => Visibility::AssignedTo(self.id),
        }
    }

    /// Admins see and manage everything.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this actor's role may perform `op` (see [`Permission`]).
    pub fn may(&self, op: Permission) -> bool {
        op.roles().contains(&self.role)
    }
}

/// The operations not every signed-in role may perform: who may do what is this one table,
/// so the facade never decides it case by case. Everything not listed here is open to every
/// signed-in user, inside that user's [`Visibility`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Assigning a ticket to a worker.
    AssignTickets,
    /// Reading per-worker and overall statistics.
    ReadStats,
    /// Listing staff accounts.
    ListUsers,
    /// Creating staff accounts.
    CreateUsers,
    /// Deleting (deactivating) staff accounts.
    DeleteUsers,
    /// Setting another account's password.
    ResetPasswords,
    /// Reading an account's audit trail.
    ReadAccountHistory,
    /// Reading and changing the automatic assignment settings.
    ManageAssignment,
    /// Setting another account's availability (anyone may set its own).
    SetOthersAvailability,
    /// Managing webhook endpoints and reading their delivery logs.
    ManageWebhooks,
    /// Listing, correcting and reading the history of customers.
    ManageClients,
    /// Removing a file from a ticket (the shop's evidence: not for the worker to discard).
    RemoveAttachments,
    /// Adding, renaming, reordering and removing the stages of the workflow.
    ManageStages,
    /// Making, listing and revoking the API keys of an account.
    ManageApiKeys,
    /// Clearing another account's two-factor sign-in (a lost phone).
    ResetSecondFactor,
    /// Downloading every ticket as CSV.
    ExportTickets,
}

impl Permission {
    /// The roles allowed to perform the operation.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Self::AssignTickets
            | Self::ReadStats
            | Self::ListUsers
            | Self::CreateUsers
            | Self::DeleteUsers
            | Self::ResetPasswords
            | Self::ReadAccountHistory
            | Self::ManageAssignment
            | Self::SetOthersAvailability
            | Self::ManageWebhooks
            | Self::ManageClients
            | Self::RemoveAttachments
            | Self::ManageStages
            | Self::ManageApiKeys
            | Self::ResetSecondFactor
            | Self::ExportTickets => &[Role::Admin],
        }
    }

    /// The sentence a refused caller reads.
    pub fn refusal(self) -> &'static str {
        match self {
            Self::AssignTickets => "Only admins can assign tickets.",
            Self::ReadStats => "Only admins can read statistics.",
            Self::ListUsers => "Only admins can list accounts.",
            Self::CreateUsers => "Only admins can create accounts.",
            Self::DeleteUsers => "Only admins can delete accounts.",
            Self::ResetPasswords => "Only admins can reset passwords.",
            Self::ManageApiKeys => "Only admins can manage API keys.",
            Self::ResetSecondFactor => "Only admins can clear two-factor sign-in.",
            Self::ExportTickets => "Only admins can export tickets.",
            Self::ReadAccountHistory => "Only admins can read an account's history.",
            Self::ManageAssignment => "Only admins can change how tickets are assigned.",
            Self::SetOthersAvailability => "Only admins can set another account's availability.",
            Self::ManageWebhooks => "Only admins can manage webhooks.",
            Self::ManageClients => "Only admins can list and correct customers.",
            Self::RemoveAttachments => "Only admins can remove files.",
            Self::ManageStages => "Only admins can change the stages.",
        }
    }
}

/// The part of the ticket table a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Every ticket (admins).
    All,
    /// Only tickets whose current worker is this user (workers).
    AssignedTo(UserId),
}

impl Visibility {
    /// Whether a ticket with this worker is inside the scope.
    pub fn allows(self, worker: Option<UserId>) -> bool {
        match self {
            Self::All => true,
            Self::AssignedTo(me) => worker == Some(me),
        }
    }

    /// Whether this scope sees an event: admins see every event; a worker sees the events of
    /// tickets it has after the event, and the event that took a ticket from it (a
    /// reassignment or a release). Both stores and the live streams apply this one rule.
    pub fn sees_event(self, e: &crate::history::Event) -> bool {
        match self {
            Self::All => true,
            Self::AssignedTo(me) => e.ticket_worker == Some(me) || e.prev_worker == Some(me),
        }
    }

    /// The worker rule of every list, written once: this visibility ANDed with a caller's
    /// `worker_id` filter. Both stores call it, so a worker's scope can never be widened by a
    /// filter in one backend and not in the other.
    pub fn scope(self, worker_filter: Option<UserId>) -> Scope {
        match (self, worker_filter) {
            (Self::All, None) => Scope::Everything,
            (Self::All, Some(w)) => Scope::Worker(w),
            (Self::AssignedTo(me), Some(w)) if w != me => Scope::Nothing,
            (Self::AssignedTo(me), _) => Scope::Worker(me),
        }
    }
}

/// Which tickets a list may contain, after visibility and the worker filter are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every ticket.
    Everything,
    /// Only tickets whose current worker is this user.
    Worker(UserId),
    /// Only tickets without a worker (admins asking for the unassigned queue).
    Unassigned,
    /// No ticket at all (a worker filtering on someone else).
    Nothing,
}

impl Scope {
    /// The worker to filter on, when there is one.
    pub fn worker(self) -> Option<UserId> {
        match self {
            Self::Worker(w) => Some(w),
            Self::Everything | Self::Unassigned | Self::Nothing => None,
        }
    }

    /// Whether a ticket with this worker is inside the scope.
    pub fn admits(self, worker: Option<UserId>) -> bool {
        match self {
            Self::Everything => true,
            Self::Worker(w) => worker == Some(w),
            Self::Unassigned => worker.is_none(),
            Self::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility() {
        let admin = Actor {
            id: UserId(1),
            role: Role::Admin,
        };
        let worker = Actor {
            id: UserId(2),
            role: Role::Worker,
        };
        assert!(admin.visibility().allows(None));
        assert!(admin.visibility().allows(Some(UserId(9))));
        assert!(worker.visibility().allows(Some(UserId(2))));
        assert!(!worker.visibility().allows(Some(UserId(3))));
        assert!(!worker.visibility().allows(None));
        assert!(admin.is_admin() && !worker.is_admin());
        assert!(admin.may(Permission::DeleteUsers) && !worker.may(Permission::DeleteUsers));
        let (me, other) = (UserId(2), UserId(3));
        assert_eq!(Visibility::All.scope(None), Scope::Everything);
        assert_eq!(Visibility::All.scope(Some(other)), Scope::Worker(other));
        assert_eq!(Visibility::AssignedTo(me).scope(None), Scope::Worker(me));
        assert_eq!(
            Visibility::AssignedTo(me).scope(Some(me)),
            Scope::Worker(me)
        );
        assert_eq!(
            Visibility::AssignedTo(me).scope(Some(other)),
            Scope::Nothing
        );
        assert_eq!("worker".parse::<Role>().unwrap(), Role::Worker);
        assert!("root".parse::<Role>().is_err());
    }
}
