//! Automatic assignment: which worker a waiting ticket goes to, as a pure rule the stores
//! apply atomically (on PostgreSQL under a lock every replica takes). Stores gather the
//! candidates and write the choice; the choice itself is made here, once.

use crate::ids::UserId;
use serde::{Deserialize, Serialize};

/// How new tickets find a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// Tickets wait for an admin (the default).
    #[default]
    Off,
    /// To the eligible worker with the fewest open tickets; ties go to the one assigned
    /// longest ago (never counts as longest), then to the lowest id.
    LeastOpen,
    /// To the next eligible worker after the last one chosen, in id order, wrapping around.
    RoundRobin,
}

impl AssignmentMode {
    /// The wire and database name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::LeastOpen => "least_open",
            Self::RoundRobin => "round_robin",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "off" => Self::Off,
            "least_open" => Self::LeastOpen,
            "round_robin" => Self::RoundRobin,
            _ => return None,
        })
    }
}

/// The shop's assignment settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AssignmentSettings {
    /// How tickets find a worker.
    pub mode: AssignmentMode,
    /// A worker with this many open (`new` or `in_progress`) tickets is not chosen; `None`
    /// is no limit. Manual assignments are not held to it.
    pub max_open_per_worker: Option<u32>,
}

/// A worker that could be chosen: active and available, with what the rule weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The worker.
    pub id: UserId,
    /// Its open tickets now.
    pub open: u64,
    /// The id of the last `assigned` event that gave it a ticket, if any: the smaller, the
    /// longer ago (event ids grow as events are written, and automatic assignments are
    /// written one pass at a time, so ids order assignments as they happened).
    pub last_assigned: Option<i64>,
}

/// Picks the worker for the next waiting ticket, or `None` when nobody is eligible.
/// `candidates` are active, available workers in any order; `cursor` is the last worker
/// chosen by round robin.
pub fn pick(
    settings: &AssignmentSettings,
    candidates: &[Candidate],
    cursor: Option<UserId>,
) -> Option<UserId> {
    let eligible = candidates.iter().filter(|c| {
        settings
            .max_open_per_worker
            .is_none_or(|max| c.open < u64::from(max))
    });
    match settings.mode {
        AssignmentMode::Off => None,
        AssignmentMode::LeastOpen => eligible
            .min_by_key(|c| (c.open, c.last_assigned, c.id))
            .map(|c| c.id),
        AssignmentMode::RoundRobin => {
            let mut ids: Vec<UserId> = eligible.map(|c| c.id).collect();
            ids.sort_unstable();
            let after = cursor.unwrap_or(UserId(0));
            ids.iter()
                .find(|&&id| id > after)
                .or_else(|| ids.first())
                .copied()
        }
    }
}

/// Gives each of `waiting` tickets (oldest first) a worker by [`pick`], counting each choice
/// in the candidates as it goes (each later than every earlier one); stops at the first
/// ticket nobody can take. Returns the (ticket, worker) pairs and the new round-robin cursor.
/// Stores write the result.
pub fn plan<T: Copy>(
    settings: &AssignmentSettings,
    candidates: &mut [Candidate],
    mut cursor: Option<UserId>,
    waiting: &[T],
) -> (Vec<(T, UserId)>, Option<UserId>) {
    let mut out = Vec::new();
    let mut latest = candidates
        .iter()
        .filter_map(|c| c.last_assigned)
        .max()
        .unwrap_or(0);
    for &ticket in waiting {
        let Some(w) = pick(settings, candidates, cursor) else {
            break;
        };
        latest += 1;
        if let Some(c) = candidates.iter_mut().find(|c| c.id == w) {
            c.open += 1;
            c.last_assigned = Some(latest);
        }
        cursor = Some(w);
        out.push((ticket, w));
    }
    (out, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64, open: u64, last: Option<i64>) -> Candidate {
        Candidate {
            id: UserId(id),
            open,
            last_assigned: last,
        }
    }

    #[test]
    fn least_open_then_longest_ago_then_lowest_id() {
        let s = AssignmentSettings {
            mode: AssignmentMode::LeastOpen,
            max_open_per_worker: None,
        };
        assert_eq!(
            pick(&s, &[c(1, 3, None), c(2, 1, Some(5)), c(3, 2, None)], None),
            Some(UserId(2))
        );
        assert_eq!(
            pick(&s, &[c(1, 1, Some(9)), c(2, 1, Some(5))], None),
            Some(UserId(2))
        );
        assert_eq!(
            pick(&s, &[c(4, 1, Some(5)), c(3, 1, None)], None),
            Some(UserId(3)),
            "never assigned is longest ago"
        );
        assert_eq!(
            pick(&s, &[c(4, 1, None), c(3, 1, None)], None),
            Some(UserId(3))
        );
        let limited = AssignmentSettings {
            max_open_per_worker: Some(1),
            ..s
        };
        assert_eq!(pick(&limited, &[c(1, 1, None), c(2, 1, None)], None), None);
        let off = AssignmentSettings::default();
        assert_eq!(pick(&off, &[c(1, 0, None)], None), None);
    }

    #[test]
    fn round_robin_cycles_in_id_order_skipping_the_full() {
        let s = AssignmentSettings {
            mode: AssignmentMode::RoundRobin,
            max_open_per_worker: Some(2),
        };
        let ws = [c(5, 0, None), c(2, 2, None), c(9, 1, None)];
        assert_eq!(pick(&s, &ws, None), Some(UserId(5)), "2 is full");
        assert_eq!(pick(&s, &ws, Some(UserId(5))), Some(UserId(9)));
        assert_eq!(pick(&s, &ws, Some(UserId(9))), Some(UserId(5)), "wraps");
        assert_eq!(
            pick(&s, &ws, Some(UserId(7))),
            Some(UserId(9)),
            "a gone cursor still moves on"
        );
    }

    #[test]
    fn a_plan_spreads_and_stops_when_nobody_can_take_more() {
        let s = AssignmentSettings {
            mode: AssignmentMode::LeastOpen,
            max_open_per_worker: Some(2),
        };
        let mut ws = [c(1, 0, None), c(2, 1, None)];
        let (got, _) = plan(&s, &mut ws, None, &[10, 11, 12, 13]);
        assert_eq!(got, [(10, UserId(1)), (11, UserId(2)), (12, UserId(1))]);
        assert_eq!((ws[0].open, ws[1].open), (2, 2));
    }
}
