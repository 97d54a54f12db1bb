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

    /// Admin-only operations: assigning, statistics, account management.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
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
        assert_eq!("worker".parse::<Role>().unwrap(), Role::Worker);
        assert!("root".parse::<Role>().is_err());
    }
}
