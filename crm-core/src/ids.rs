//! Typed identifiers, so a ticket id can never be passed where a user id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw number, as stored and as shown in the API.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    };
}

id_type!(
    /// Identifies a repair request; customers quote it, staff open it by it.
    TicketId
);
id_type!(
    /// Identifies a staff account (admin or worker); stays valid after deactivation.
    UserId
);
id_type!(
    /// Identifies a customer, who is found by e-mail and never has an account.
    ClientId
);
id_type!(
    /// Identifies one history event; increases with time within a ticket.
    EventId
);
id_type!(
    /// Identifies a stage within a status ("Waiting for parts"); a ticket points at one.
    StageId
);
id_type!(
    /// Identifies one version of a ticket's quote.
    QuoteId
);
