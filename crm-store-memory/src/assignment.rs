//! Automatic assignment under the store's lock: the candidates, the plan and its writes are
//! one critical section, so racing submissions can never push a worker past the limit.

use crate::{MemoryStore, rows::row_of};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crm_core::{
    AssignmentMode, AssignmentSettings, AssignmentStore, Candidate, Change, NewEvent, Role,
    StoreError, Ticket, TicketStatus, User, UserId, assignment::plan,
};

/// Waiting tickets considered per pass (a pass that fills them all runs again).
const PASS: usize = 1000;

#[async_trait]
impl AssignmentStore for MemoryStore {
    async fn assignment_settings(&self) -> Result<AssignmentSettings, StoreError> {
        Ok(self.read().assignment)
    }

    async fn set_assignment_settings(
        &self,
        settings: AssignmentSettings,
    ) -> Result<(), StoreError> {
        self.write().assignment = settings;
        Ok(())
    }

    async fn set_availability(&self, user: UserId, available: bool) -> Result<User, StoreError> {
        let mut g = self.write();
        let row = row_of(user.0)
            .filter(|&r| g.users.get(r as usize).is_some_and(|u| u.active))
            .ok_or(StoreError::NotFound)?;
        let u = &mut g.users[row as usize];
        u.user.available = available;
        Ok(u.user.clone())
    }

    async fn assign_waiting(&self, at: DateTime<Utc>) -> Result<Vec<Ticket>, StoreError> {
        let mut assigned = Vec::new();
        let mut g = self.write();
        let settings = g.assignment;
        if settings.mode == AssignmentMode::Off {
            return Ok(assigned);
        }
        loop {
            let mut candidates: Vec<Candidate> = g
                .users
                .iter()
                .filter(|u| u.active && u.user.role == Role::Worker && u.user.available)
                .map(|u| {
                    let s = g.indexes.stats(Some(u.user.id));
                    Candidate {
                        id: u.user.id,
                        open: s.new + s.in_progress,
                        last_assigned: g.last_assigned.get(&u.user.id).copied(),
                    }
                })
                .collect();
            let waiting = g.indexes.waiting_rows(PASS);
            let (choices, cursor) = plan(&settings, &mut candidates, g.rr_cursor, &waiting);
            g.rr_cursor = cursor;
            let full = choices.len() == PASS;
            for (row, worker) in choices {
                g.update_row(row, |r| {
                    r.worker = Some(worker);
                    r.assigned_at = Some(at);
                    r.updated_at = at;
                });
                g.push_event(
                    row,
                    NewEvent::assigned(at, None, worker, None, TicketStatus::New),
                );
                assigned.push(g.ticket(row));
            }
            if !full {
                break;
            }
        }
        drop(g);
        if !assigned.is_empty() {
            self.changed(Change::Events);
        }
        Ok(assigned)
    }
}
